/* dopt_sparse.h — sparse supernodal Cholesky for dopt: ordering, symbolic analysis, numeric
 * factorization (single and batched), solves, a differentiable solve, block-sparse assembly of
 * Gauss-Newton systems and a Matrix Market reader.                          (C99, header-only)
 *
 * WHAT IT SOLVES
 *   A x = b for a sparse symmetric positive-definite A (n x n), by A = P^T L L^T P where P is a
 *   fill-reducing permutation and L is lower triangular.  The work splits in two phases:
 *     analyze (once per PATTERN, precision-independent: dopt_sparse_symbolic)
 *         ordering       approximate minimum degree (Amestoy, Davis, Duff 1996), natural or user
 *         elimination tree, postorder, column counts of L (Gilbert, Ng, Peyton)
 *         supernodes     runs of columns of L with the same structure below the diagonal
 *                        ("fundamental"), merged with their parents when the explicit zeros this
 *                        adds stay small ("relaxed amalgamation", tunable)
 *         the row structure of every supernode and the map from A's entries into L's storage
 *     factor (per VALUES, float or double: dopt_sparse_numeric_f / _d, dopt_sparse_factor_*)
 *         left-looking supernodal Cholesky: supernode s is zeroed and receives A's entries,
 *         gathers the updates of the supernodes below it in the tree (dense syrk/gemm),
 *         factors its diagonal block (potrf) and solves its off-diagonal block (trsm): in
 *         left-looking column panels, or for very wide supernodes by recursive halving (the
 *         kernels behind each step: TUNING at the end of this file).  Refactoring new values
 *         with the same pattern reuses everything and allocates nothing.
 *   A factor object may hold a BATCH of matrices with one pattern (one symbolic object, one
 *   allocation): small factors are interleaved supernode by supernode so the index bookkeeping
 *   is shared; batches bigger than the cache go element by element.
 *   Failures name the ORIGINAL column of the failing pivot (info->index, F->fail_col[b]).
 *
 * STORAGE CONVENTIONS
 *   Compressed sparse column (CSC): column j holds entries p = Ap[j] .. Ap[j+1]-1 with row Ai[p]
 *   and value Ax[p]; 0-based.  A symmetric matrix is given by ONE triangle: DOPT_LOWER (entries
 *   with row >= column; others are ignored) or DOPT_UPPER (row <= column).  Duplicate entries
 *   are summed.  Indices are int: n and the number of entries of A must stay below 2^31; L's
 *   values are addressed with size_t, so nnz(L) may exceed that.
 *   Supernode s covers columns super[s] .. super[s+1]-1 of the PERMUTED matrix; its values are
 *   a column-major nsrow x nscol block (leading dimension nsrow) whose rows are rowind[...]:
 *   first the supernode's own columns, then the rows below in increasing order.
 *
 * MINIMAL EXAMPLE (cc -std=c99 ex.c -lm)
 *       #define DOPT_IMPLEMENTATION
 *       #include "dopt_sparse.h"
 *       #include <stdio.h>
 *       int main(void) {   // A = [4 1 0; 1 4 1; 0 1 4], lower triangle in CSC
 *           int Ap[4] = {0, 2, 4, 5}, Ai[5] = {0, 1, 1, 2, 2};
 *           double Ax[5] = {4, 1, 4, 1, 4}, b[3] = {1, 2, 3};
 *           dopt_sparse_symbolic *S;  dopt_sparse_numeric_d *F;
 *           if (dopt_sparse_analyze(NULL, 3, Ap, Ai, DOPT_LOWER, NULL, &S, NULL)) return 1;
 *           if (dopt_sparse_numeric_create_d(S, 1, &F)) return 1;
 *           if (dopt_sparse_factor_d(F, Ax, NULL)) return 1;     // again with new values: refactor
 *           dopt_sparse_solve_d(F, 1, b, 3);                      // b <- A^{-1} b
 *           printf("%g %g %g\n", b[0], b[1], b[2]);
 *           dopt_sparse_numeric_destroy_d(F);  dopt_sparse_symbolic_destroy(S);
 *           return 0;
 *       }
 *
 * DIFFERENTIABLE SOLVE
 *   For x = A^{-1} b and a loss gradient gx = dL/dx:  gb = dL/db = A^{-1} gx (A is symmetric) and
 *   dL/dA = -gb x^T.  Restricted to the stored triangle, a stored off-diagonal value a_ij stands
 *   for both A_ij and A_ji, so dL/da_ij = -(gb_i x_j + gb_j x_i), and dL/da_ii = -gb_i x_i.
 *   dopt_sparse_solve_backward_* returns these with the same factor (one extra solve).
 *
 * THREADS
 *   Nothing here starts threads.  The symbolic object is read-only after analysis, so several
 *   factor objects may share it.  To spread one batch over threads, give each thread a slice
 *   (dopt_sparse_numeric_slice: a run of the batch's elements with its own small workspace)
 *   and let it factor and solve that slice; the factors stay in the one batch object.
 *
 * LEAST-SQUARES LAYER
 *   dopt_sparse_linear_solver_d/_f fills dopt.h's dopt_linear_solver (analyze once on the block
 *   pattern, factor values + damping, solve in place, failing column in the pattern's numbering,
 *   rank deficiency reported like the dense solver does).  When every block has one size, the
 *   ordering, elimination tree, column counts and row structures are found on the BLOCK graph
 *   and expanded (dopt_sparse_options.scalar_analysis): the same symbolic object as the scalar
 *   analysis with that ordering, ~d^2 times less index work (the pose graphs of bench/pgo.sh:
 *   nnz(L) within 0.1% of scalar AMD's).
 *
 * LANE BATCH (the least-squares solver's factor_batch / solve_batch)
 *   Up to W matrices of ONE pattern factored and solved at once, lane-interleaved: entry q of
 *   L's supernodal storage (the layout above) of matrix l sits at x[q*W + l], so each entry is
 *   one vector register of W reals and every supernode's dense work, however small the
 *   supernode, is full-vector work, while the index work (descendant lists, relative maps, tile
 *   bounds) is done once for all W.  Same left-looking supernodal algorithm; each supernode is
 *   factored right-looking over column blocks (DOPT__SP_LNB), left-looking in groups of 3
 *   columns inside a block, all products in register tiles of lane vectors (8 x 3 with AVX-512).
 *   W: one vector of the kernel family the CPU runs (x86-64 runtime dispatch picks it as for
 *   the other kernels, see DOPT_NO_DISPATCH in dopt.h): AVX-512 8 doubles / 16 floats, AVX2 4 / 8;
 *   NEON and plain C 4 (plain loops over the lanes).  With NEON or plain C the lane batch is
 *   offered only with DOPT_SPARSE_PLAIN_LANES defined (measurements: TUNING at the end of this
 *   file).  A lane
 *   whose pivot fails records its column and goes on with pivot 1 (its numbers stay finite),
 *   so every lane's status is what factor() reports for it alone.
 *
 * FILES
 *   dopt_sparse_read_mm_d/_f reads Matrix Market coordinate files (real, integer, pattern;
 *   general or symmetric); a malformed line gives DOPT_ERR_PARSE with its line number and reason.
 *
 * OPTIONS (define before including): those of dopt.h (DOPT_USE_CBLAS routes the big supernode
 *   kernels to OpenBLAS: big products to dgemm, one potrf + trsm per very big supernode;
 *   DOPT_NO_STDIO leaves out the Matrix Market reader; DOPT_NO_VECTOR_EXT turns the GCC/Clang
 *   vector-extension kernels off), and
 *   DOPT_SPARSE_PLAIN_LANES  offer the lane batch on NEON and plain C too (correct, slower than
 *                            one matrix at a time; the tests define it)
 *   DOPT__SP_*               tuning knobs, rarely needed: listed in TUNING at the end of the file.
 */
#if !defined(DOPT__DRIVE)
#ifndef DOPT_SPARSE_H
#define DOPT_SPARSE_H
#include "dopt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fill-reducing ordering used by dopt_sparse_analyze. */
typedef enum dopt_sparse_ordering {
    DOPT_SPARSE_ORDER_AMD = 0,   /* approximate minimum degree (default)                      */
    DOPT_SPARSE_ORDER_NATURAL,   /* identity: pivot k is column k                             */
    DOPT_SPARSE_ORDER_USER       /* options.user_perm                                         */
} dopt_sparse_ordering;

/* Options of dopt_sparse_analyze.  Zero-initialize for the defaults (NULL means the same).
 *   ordering        see dopt_sparse_ordering
 *   user_perm       n ints, user_perm[k] = original column eliminated k-th (ORDER_USER)
 *   amd_dense       AMD orders rows with more than max(16, amd_dense * sqrt(n)) off-diagonal
 *                   entries last (0 = 10; negative: never)
 *   fundamental     1: no relaxed amalgamation, keep fundamental supernodes only
 *   relax_cols      relaxed amalgamation: merge a child into its parent when the merged
 *   relax_zeros     supernode has ncols <= relax_cols[0], or ncols <= relax_cols[1] and a
 *                   fraction of explicit zeros < relax_zeros[0], or ncols <= relax_cols[2] and
 *                   zeros < relax_zeros[1], or zeros < relax_zeros[2].
 *                   0 = {4, 16, 48} and {0.8, 0.1, 0.05} (CHOLMOD's defaults)
 *   scalar_analysis the least-squares layer (dopt_sparse_linear_solver) only: 1 analyzes the
 *                   scalar pattern always; 0 (default) analyzes on the BLOCK graph when every
 *                   block has the same size and the ordering is AMD or natural (AMD of the
 *                   block graph, its elimination tree and column counts expanded to the scalar
 *                   columns: the symbolic object is the one dopt_sparse_analyze gives for that
 *                   ordering as user_perm, found in O(blocks) instead of O(scalar entries))
 * Every ordering is followed by a postorder of its elimination tree (same fill, contiguous
 * supernodes), so sym->perm may differ from user_perm. */
typedef struct dopt_sparse_options {
    dopt_sparse_ordering ordering;
    const int *user_perm;
    double amd_dense;
    int fundamental;
    int relax_cols[3];
    double relax_zeros[3];
    int scalar_analysis;
} dopt_sparse_options;

/* The symbolic factorization: everything that depends only on the pattern of A.  Read-only
 * after dopt_sparse_analyze; shared by any number of factor objects, float or double. */
typedef struct dopt_sparse_symbolic {
    int n;               /* order of A                                                          */
    dopt_uplo uplo;      /* which triangle of the analyzed pattern holds the entries           */
    int nnz_a;           /* Ap[n] of the analyzed pattern (values arrays have this length)     */
    int *Ap, *Ai;        /* copy of the analyzed pattern (n+1, nnz_a)                          */
    int *perm;           /* n: perm[k] = original column that is pivot k                        */
    int *iperm;          /* n: iperm[perm[k]] = k                                               */
    int *parent;         /* n: elimination tree of the permuted matrix, -1 at roots; postordered
                            so parent[j] > j                                                    */
    int *colcount;       /* n: entries in column j of L, diagonal included                     */
    double nnz_l;        /* sum of colcount: exact nnz(L) of this ordering                      */
    double flops;        /* sum of colcount[j]^2: factorization flop count (CHOLMOD's measure)  */
    int nsuper;          /* number of supernodes                                                */
    int *super;          /* nsuper+1: first column of each supernode, super[nsuper] = n         */
    int *col2super;      /* n: supernode of each column                                         */
    int *sparent;        /* nsuper: parent supernode or -1                                      */
    int *rowptr;         /* nsuper+1: rows of s are rowind[rowptr[s] .. rowptr[s+1]-1]          */
    int *rowind;         /* the row structure, own columns first, then increasing              */
    size_t *valptr;      /* nsuper+1: values of s start at valptr[s] (nsrow x nscol, col-major) */
    size_t nnz_storage;  /* valptr[nsuper]: reals per factor (explicit zeros included)          */
    size_t *amap;        /* nnz_a: where entry p of A lands in L's values, or (size_t)-1 when
                            the entry is in the ignored triangle                                */
    int *aptr;           /* nsuper+1: the entries of A that land in supernode s are             */
    int *aent;           /* aent[aptr[s] .. aptr[s+1]-1] (indices p into Ax), going to            */
    size_t *adst;        /* L's values at adst[...] (= amap[aent[...]]), so each supernode is
                            zeroed and assembled just before it is factored, while in cache      */
    int max_nsrow;       /* largest supernode row count                                         */
    int max_nscol;       /* largest supernode column count                                      */
    size_t max_update;   /* largest update block (rows x cols) a supernode sends to an ancestor */
    dopt_hooks hooks;    /* allocator used for this object                                      */
} dopt_sparse_symbolic;

/* dopt_sparse_analyze: symbolic analysis of the n x n symmetric pattern (Ap, Ai) whose entries
 * sit in the `uplo` triangle (entries of the other triangle are ignored; the diagonal may be
 * absent, though factorization then needs it to be in the pattern to succeed).  Rows need not be
 * sorted; duplicates are allowed (their values are summed).  Allocates *sym through hooks.
 * Returns DOPT_OK; DOPT_ERR_INVALID_ARGUMENT (NULL, n < 0, Ap not nondecreasing from 0, a row
 * index out of range, user_perm not a permutation: info->index names the offending column or
 * entry), DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status dopt_sparse_analyze(const dopt_hooks *hooks, int n, const int *Ap,
                                         const int *Ai, dopt_uplo uplo,
                                         const dopt_sparse_options *options,
                                         dopt_sparse_symbolic **sym, dopt_errinfo *info);

/* dopt_sparse_symbolic_destroy: release an object from dopt_sparse_analyze (NULL is fine). */
DOPT_API void dopt_sparse_symbolic_destroy(dopt_sparse_symbolic *sym);

/* ---- the algorithms of the analysis, usable on their own (no allocation) -------------------- */

/* dopt_sparse_etree: elimination tree of the symmetric matrix whose UPPER triangle pattern is
 * (Up, Ui) (column j lists rows i <= j; other rows are ignored).  parent[j] = parent of j or -1.
 * iwork: n ints. */
DOPT_API void dopt_sparse_etree(int n, const int *Up, const int *Ui, int *parent, int *iwork);

/* dopt_sparse_postorder: post[k] = k-th node of a depth-first postorder of the forest `parent`
 * (children visited in increasing order).  iwork: 3n ints. */
DOPT_API void dopt_sparse_postorder(int n, const int *parent, int *post, int *iwork);

/* dopt_sparse_colcounts: colcount[j] = entries in column j of L (diagonal included), for a
 * POSTORDERED elimination tree `parent` (parent[j] > j) and the strictly LOWER pattern
 * (Lp, Li) of the same matrix (column j lists rows i > j; others are ignored).  O(nnz a(n)).
 * iwork: 4n ints. */
DOPT_API void dopt_sparse_colcounts(int n, const int *Lp, const int *Li, const int *parent,
                                    int *colcount, int *iwork);

/* dopt_sparse_amd_iwork_size: ints of workspace dopt_sparse_amd needs for an n x n pattern with
 * nnz off-diagonal entries (both triangles counted). */
DOPT_API size_t dopt_sparse_amd_iwork_size(int n, int nnz);

/* dopt_sparse_amd: approximate minimum degree ordering of the symmetric pattern (Sp, Si), which
 * must list BOTH triangles, without the diagonal and without duplicates.  perm[k] = the node
 * eliminated k-th.  Rows with more than `dense` entries are ordered last (dense < 0: the
 * default max(16, 10 sqrt(n))).  iwork: dopt_sparse_amd_iwork_size(n, Sp[n]) ints. */
DOPT_API void dopt_sparse_amd(int n, const int *Sp, const int *Si, int dense, int *perm,
                              int *iwork);

#ifdef __cplusplus
}
#endif

#define DOPT_SPARSE__PASS_DECL
#define DOPT__DRIVE "dopt_sparse.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_SPARSE__PASS_DECL
#endif /* DOPT_SPARSE_H */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Generic declarations (float and double).                                                       */
/* =============================================================================================== */
#if defined(DOPT_SPARSE__PASS_DECL) && defined(DOPT_REAL)
#ifdef __cplusplus
extern "C" {
#endif

/* ---- compressed-column matrices ------------------------------------------------------------- */

/* A CSC matrix that owns its arrays (made by the triplet converter or the Matrix Market reader;
 * release with dopt_sparse_csc_destroy).  symmetric = 1: only the lower triangle is stored.
 * Rows are increasing within each column and unique. */
typedef struct DOPT_FN(dopt_sparse_csc) {
    int nrows, ncols, symmetric;
    int *p;            /* ncols+1 */
    int *i;            /* p[ncols] */
    DOPT_REAL *x;      /* p[ncols] */
    size_t nzmax;      /* capacity of i and x */
    dopt_hooks hooks;
} DOPT_FN(dopt_sparse_csc);

/* dopt_sparse_triplets_to_csc: (Ti[k], Tj[k], Tx[k]), k < nnz, to CSC (Cp, Ci, Cx) with rows
 * sorted and duplicates summed.  symmetric = 1 mirrors entries of the upper triangle into the
 * lower one (so a symmetric matrix given by either triangle, or both with consistent values
 * counted once per stored entry, ends up lower).  Tx may be NULL (all ones).  No allocation:
 * Cp: ncols+1 ints, Ci: nnz ints, Cx: nnz reals (final count Cp[ncols] <= nnz);
 * iwork: nrows+1+nnz ints, rwork: nnz reals.
 * Returns DOPT_ERR_INVALID_ARGUMENT with *bad = k for an index out of range (bad may be NULL),
 * DOPT_ERR_DIMENSION for symmetric with nrows != ncols. */
DOPT_API dopt_status DOPT_FN(dopt_sparse_triplets_to_csc)(int nrows, int ncols, int nnz,
                                                          const int *Ti, const int *Tj,
                                                          const DOPT_REAL *Tx, int symmetric,
                                                          int *Cp, int *Ci, DOPT_REAL *Cx,
                                                          int *iwork, DOPT_REAL *rwork, int *bad);

/* dopt_sparse_csc_from_triplets: allocating form of dopt_sparse_triplets_to_csc (A is filled;
 * free with dopt_sparse_csc_destroy).  Statuses as above plus DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_sparse_csc_from_triplets)(const dopt_hooks *hooks, int nrows,
                                                            int ncols, int nnz, const int *Ti,
                                                            const int *Tj, const DOPT_REAL *Tx,
                                                            int symmetric,
                                                            DOPT_FN(dopt_sparse_csc) *A,
                                                            dopt_errinfo *info);
/* dopt_sparse_csc_destroy: release the arrays of A (A itself is the caller's). */
DOPT_API void DOPT_FN(dopt_sparse_csc_destroy)(DOPT_FN(dopt_sparse_csc) *A);

#ifndef DOPT_NO_STDIO
/* dopt_sparse_read_mm: read a Matrix Market file "%%MatrixMarket matrix coordinate
 * {real|integer|pattern} {general|symmetric}" (1-based) into A (pattern entries get value 1;
 * symmetric files give symmetric = 1 with the lower triangle).  Returns DOPT_ERR_PARSE with
 * info->line and a reason for a malformed line, DOPT_ERR_UNSUPPORTED for other MM kinds
 * (array, complex, skew-symmetric, hermitian) and for rows or columns above 2 x entries + 65536
 * (memory follows the entries present, not the header), DOPT_ERR_PARSE also for entries beyond
 * the declared count and for a value that is NaN or Inf in this precision, DOPT_ERR_NON_FINITE
 * when duplicates sum to Inf, DOPT_ERR_IO when the file cannot be opened or read,
 * DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_sparse_read_mm)(const dopt_hooks *hooks, const char *path,
                                                  DOPT_FN(dopt_sparse_csc) *A, dopt_errinfo *info);
#endif

/* ---- numeric factorization ------------------------------------------------------------------ */

/* A numeric factor (or a batch of them) for one symbolic object.  Element b's supernodal
 * values start at x + b * sym->nnz_storage (layout in dopt_sparse_symbolic).  fail_col[b] is
 * the ORIGINAL column whose pivot failed in the last factorization of element b, or -1.  The
 * remaining fields are workspace.  Nothing is allocated after creation. */
typedef struct DOPT_FN(dopt_sparse_numeric) {
    const dopt_sparse_symbolic *sym;
    int batch;
    DOPT_REAL *x;
    int *fail_col;
    int *map, *relmap, *head, *next, *lpos;   /* n, max_nsrow, nsuper x 3 ints  */
    DOPT_REAL *cbuf, *xwork, *twork;          /* update block / packed slabs,
                                                 solve workspace                */
    size_t interleave_bytes;                  /* batches whose factors take at most this
                                                 many bytes are interleaved supernode by
                                                 supernode, larger ones go element by element
                                                 (init sets 1 MiB; 0: always one by one)   */
    int owns;                                 /* 1: created by _create          */
    void *base;                               /* the memory handed to _init     */
    size_t bytes;
} DOPT_FN(dopt_sparse_numeric);

/* Right-hand sides a solve processes at a time (its workspace is sized for this many). */
#define DOPT_SPARSE_RHS_CHUNK 4

/* dopt_sparse_numeric_memory_size: bytes dopt_sparse_numeric_init needs for `batch` matrices. */
DOPT_API size_t DOPT_FN(dopt_sparse_numeric_memory_size)(const dopt_sparse_symbolic *sym, int batch);
/* dopt_sparse_numeric_init: set up F in caller memory (no allocation); memory must stay valid
 * while F is used.  Returns DOPT_ERR_INVALID_ARGUMENT, DOPT_ERR_ALLOCATION if bytes is short. */
DOPT_API dopt_status DOPT_FN(dopt_sparse_numeric_init)(DOPT_FN(dopt_sparse_numeric) *F,
                                                       const dopt_sparse_symbolic *sym, int batch,
                                                       void *memory, size_t bytes);
/* dopt_sparse_numeric_create: allocate (through sym's hooks) and init a factor object for
 * `batch` (>= 1) matrices.  Returns DOPT_ERR_INVALID_ARGUMENT or DOPT_ERR_ALLOCATION. */
DOPT_API dopt_status DOPT_FN(dopt_sparse_numeric_create)(const dopt_sparse_symbolic *sym, int batch,
                                                         DOPT_FN(dopt_sparse_numeric) **F);
/* dopt_sparse_numeric_destroy: release an object from _create (NULL is fine). */
DOPT_API void DOPT_FN(dopt_sparse_numeric_destroy)(DOPT_FN(dopt_sparse_numeric) *F);

/* dopt_sparse_numeric_slice_size: bytes of workspace a slice needs (no factor values). */
DOPT_API size_t DOPT_FN(dopt_sparse_numeric_slice_size)(const dopt_sparse_symbolic *sym);
/* dopt_sparse_numeric_slice: set up `slice` as a factor object for elements first ..
 * first+count-1 of F's batch: its element b is F's element first+b (values and fail_col live
 * in F), its workspace is caller memory of dopt_sparse_numeric_slice_size bytes (no
 * allocation).  Factor and solve calls on slices with disjoint elements and their own memory
 * may run on different threads at once; the results equal those of calls on F.  Nothing to
 * free.  Returns DOPT_ERR_INVALID_ARGUMENT (NULL, count < 1, first < 0),
 * DOPT_ERR_DIMENSION (first + count > F->batch), DOPT_ERR_ALLOCATION (bytes too small). */
DOPT_API dopt_status DOPT_FN(dopt_sparse_numeric_slice)(DOPT_FN(dopt_sparse_numeric) *slice,
                                                        DOPT_FN(dopt_sparse_numeric) *F, int first,
                                                        int count, void *memory, size_t bytes);

/* dopt_sparse_factor: factor (or refactor) element 0 with values Ax (sym->nnz_a reals, aligned
 * with the analyzed pattern).  Returns DOPT_OK; DOPT_ERR_NOT_POSITIVE_DEFINITE with
 * info->index = F->fail_col[0] = the original column of the failing pivot;
 * DOPT_ERR_NON_FINITE for NaN/Inf in Ax (info->index = the entry) or a non-finite pivot;
 * DOPT_ERR_INVALID_ARGUMENT for NULL pointers. */
DOPT_API dopt_status DOPT_FN(dopt_sparse_factor)(DOPT_FN(dopt_sparse_numeric) *F, const DOPT_REAL *Ax,
                                                 dopt_errinfo *info);
/* dopt_sparse_factor_batch: factor elements 0..count-1 (count <= F->batch) from values
 * Ax + b * strideAx.  Small factors are interleaved supernode by supernode (index work shared);
 * batches larger than the cache go element by element.  Every element is attempted; failing
 * ones get F->fail_col[b] >= 0 (or -2 for non-finite input) and the first failure's status is
 * returned (info describes it).  DOPT_ERR_DIMENSION if count > F->batch. */
DOPT_API dopt_status DOPT_FN(dopt_sparse_factor_batch)(DOPT_FN(dopt_sparse_numeric) *F, int count,
                                                       const DOPT_REAL *Ax, ptrdiff_t strideAx,
                                                       dopt_errinfo *info);

/* dopt_sparse_solve: B <- A^{-1} B with element 0's factor; B is n x nrhs column-major
 * (ldb >= n), in the original ordering.  Never fails for a successful factor. */
DOPT_API void DOPT_FN(dopt_sparse_solve)(DOPT_FN(dopt_sparse_numeric) *F, int nrhs, DOPT_REAL *B, int ldb);
/* dopt_sparse_solve_element: as dopt_sparse_solve with batch element `element`. */
DOPT_API void DOPT_FN(dopt_sparse_solve_element)(DOPT_FN(dopt_sparse_numeric) *F, int element, int nrhs,
                                                 DOPT_REAL *B, int ldb);
/* dopt_sparse_solve_batch: element b solves its B + b * strideB, b < count. */
DOPT_API void DOPT_FN(dopt_sparse_solve_batch)(DOPT_FN(dopt_sparse_numeric) *F, int count, int nrhs,
                                               DOPT_REAL *B, int ldb, ptrdiff_t strideB);

/* dopt_sparse_solve_backward: the adjoint of x = A^{-1} b for batch element `element`.
 *   x   n reals, the solution of the forward solve      gx  n reals, dL/dx
 *   gb  n reals out, dL/db = A^{-1} gx (may alias gx)
 *   gA  optional (NULL to skip) sym->nnz_a reals out, aligned with the analyzed pattern:
 *       dL/dA for each stored entry, symmetric convention: -(gb_i x_j + gb_j x_i) off the
 *       diagonal, -gb_i x_i on it; 0 for entries of the ignored triangle.
 * Uses the factor in F (no refactorization, no allocation).  Returns DOPT_OK,
 * DOPT_ERR_INVALID_ARGUMENT (NULL F, x, gx or gb; element outside the batch), or
 * DOPT_ERR_NON_FINITE when gb or gA came out with a NaN or Inf (the outputs are checked). */
DOPT_API dopt_status DOPT_FN(dopt_sparse_solve_backward)(DOPT_FN(dopt_sparse_numeric) *F, int element,
                                                         const DOPT_REAL *x, const DOPT_REAL *gx,
                                                         DOPT_REAL *gb, DOPT_REAL *gA);

/* ---- selected inverse ------------------------------------------------------------------------ */

/* dopt_sparse_selinv_workspace_size: bytes of workspace dopt_sparse_selinv needs for sym (0 for
 * a NULL sym).  About (max rows below a supernode)^2 + a few supernode panels of reals. */
DOPT_API size_t DOPT_FN(dopt_sparse_selinv_workspace_size)(const dopt_sparse_symbolic *sym);
/* dopt_sparse_selinv: the selected inverse Z = A^{-1} on the pattern of L (Takahashi, Fagan and
 * Chen's recurrences, supernode by supernode from the root down): for a supernode with columns
 * J, rows R below them, L_JJ its diagonal block and Y = L_RJ L_JJ^{-1},
 *     Z_RJ = -Z_RR Y,      Z_JJ = L_JJ^{-T} L_JJ^{-1} - Y^T Z_RJ,
 * where Z_RR lies in the ancestors (R is a clique of the filled graph), so every entry of A^{-1}
 * that L's pattern holds, and thus every entry of A's pattern, comes out at about the cost of the
 * factorization, never the dense inverse.  Uses batch element `element`'s factor of F (which
 * must have succeeded).  Z: sym->nnz_storage reals out, in L's supernodal layout and numbering
 * (dopt_sparse_symbolic: entry (i, j) of the permuted matrix, i >= j; A's entry p is
 * Z[sym->amap[p]] = (A^{-1})_{Ai[p], j}; the strict upper part of each supernode's diagonal
 * block is scratch).  work: caller memory of dopt_sparse_selinv_workspace_size bytes; nothing is
 * allocated.  Returns DOPT_OK; DOPT_ERR_INVALID_ARGUMENT (NULL pointers, element outside the
 * batch); DOPT_ERR_ALLOCATION (bytes too small); DOPT_ERR_NOT_POSITIVE_DEFINITE (the element's
 * last factorization failed); DOPT_ERR_NON_FINITE (an entry of Z came out NaN/Inf). */
DOPT_API dopt_status DOPT_FN(dopt_sparse_selinv)(const DOPT_FN(dopt_sparse_numeric) *F, int element,
                                                 DOPT_REAL *Z, void *work, size_t bytes);

/* ---- the least-squares layer's linear solver ---------------------------------------------- */

/* dopt_sparse_linear_solver: fill *out with a dopt_linear_solver (dopt.h's least-squares layer)
 * backed by this module.  analyze(): the block pattern becomes a scalar lower CSC pattern (full
 * diagonal blocks) and a gather map, then dopt_sparse_analyze runs once (options may be NULL).
 * factor(): gathers the block values, adds diag_add, factors; a failing pivot is reported in the
 * pattern's own scalar numbering, and so is a pivot whose square is below DOPT__RANK_TOL(n)
 * (float: 10, double: 1000, times n eps) times its diagonal entry (rank deficiency, e.g. gauge
 * freedom): the dense solver's tolerance, one macro in dopt.h.  solve(): one right-hand side in place.  reserve()/select(): a batch of factor
 * slots in one dopt_sparse_numeric (sym->nnz_storage reals each).  The lane batch (see the
 * overview): batch_width = W, one vector of the kernel family the CPU runs (AVX-512: 8 doubles /
 * 16 floats, AVX2: 4 / 8); with NEON or plain C 0, no lane batch, unless DOPT_SPARSE_PLAIN_LANES
 * is defined: then 4 lanes);
 * reserve_batch() allocates its storage once (sym->nnz_storage + n lane vectors of W reals and
 * index workspace; analyze() drops it) and declines with DOPT_ERR_UNSUPPORTED when the lane
 * factors would pass DOPT__SP_LANE_MAX_BYTES (32 MiB: a big dense root is faster one matrix at
 * a time); factor_batch() and solve_batch() allocate nothing,
 * leave factor()'s slots alone, and give each matrix the status, failing column and rank check
 * factor() would (NaN/Inf in a matrix's values or diag_add: DOPT_ERR_NON_FINITE, column -2);
 * factor_batch() without reserve_batch() or with count outside 1..W returns
 * DOPT_ERR_INVALID_ARGUMENT.  Memory through hooks (copied; NULL for libc), nothing allocated
 * after analyze() except by reserve() and reserve_batch().  Returns DOPT_ERR_ALLOCATION or
 * DOPT_OK. */
DOPT_API dopt_status DOPT_FN(dopt_sparse_linear_solver)(const dopt_hooks *hooks,
                                                        const dopt_sparse_options *options,
                                                        DOPT_FN(dopt_linear_solver) *out);

#ifdef __cplusplus
}
#endif
#endif /* DOPT_SPARSE__PASS_DECL */

/* =============================================================================================== */
/* IMPLEMENTATION                                                                                  */
/* =============================================================================================== */
#if !defined(DOPT__DRIVE)
#if defined(DOPT_IMPLEMENTATION) && !defined(DOPT_SPARSE_IMPLEMENTED)
#define DOPT_SPARSE_IMPLEMENTED
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#ifndef DOPT_NO_STDIO
#include <stdio.h>
#endif
#ifdef __cplusplus
extern "C" {
#endif

#define DOPT__SP_NONE ((size_t)-1)
/* ---- tuning knobs (each #ifndef: a build may override it; TUNING at the end of the file lists
 * them with the measurements behind them) ---- */
/* Updates with fewer flops than this run inline (when the register tiles below do not take
 * them: those need DOPT__SP_FUSED_MIN rows); larger ones call dopt_gemm. */
#ifndef DOPT__SP_SMALL_UPDATE
#define DOPT__SP_SMALL_UPDATE 8192
#endif
#ifndef DOPT__SP_NARROW /* supernodes of at most this many columns are factored in one pass */
#define DOPT__SP_NARROW 12
#endif
/* Default of dopt_sparse_numeric.interleave_bytes: a batch whose factors take more bytes than
 * this is factored one element after the other; smaller batches are interleaved supernode by
 * supernode (the index work is shared). */
#ifndef DOPT__SP_BATCH_INTERLEAVE
#define DOPT__SP_BATCH_INTERLEAVE (1 << 20)
#endif
/* Panel width of the supernode factorization, and the column blocks of the trapezoidal products
 * handed to dopt_gemm. */
#ifndef DOPT__SP_NB
#define DOPT__SP_NB 64
#endif
/* Updates whose sending block (rows x columns of the descendant taking part) has at most this
 * many entries, so that it stays in the L2 cache while every column strip reads it again, are
 * summed in register tiles and subtracted straight at their rows (no update buffer, no scatter
 * pass); bigger ones go through the packed dopt_gemm. */
#ifndef DOPT__SP_FUSED_MAX
#define DOPT__SP_FUSED_MAX 131072
#endif
/* With DOPT_USE_CBLAS, supernodes of at least this many entries are factored by one LAPACK
 * potrf and one BLAS trsm; smaller ones take the panels of the built-in kernels (faster there
 * when the register tiles are on). */
#ifndef DOPT__SP_LAPACK_MIN
#define DOPT__SP_LAPACK_MIN 4194304
#endif
#ifndef DOPT__SP_SYRK_NB
#define DOPT__SP_SYRK_NB 64
#endif
/* Supernodes of at least this many columns are factored by recursive halving (dopt__sp_factor_rec)
 * instead of the left-looking panels: the big trailing updates then run as one packed product
 * each, with a deep inner dimension.  Built-in kernels only (not with DOPT_USE_CBLAS).  Parts of
 * at most DOPT__SP_LEAF columns are the leaves of the recursion, factored left-looking.  The
 * defaults read DOPT__VBYTES, so they follow the kernel family: AVX-512 768 and 256 (there
 * left-looking was faster up to about 700 columns, recursive from about 850); the others 256
 * and 128 (AVX2 on a Zen 3, dense supernodes, kernels alone: 1.05-1.25x the panels' speed from
 * 256 columns (on 256 x 800, 320 x 320 and up), 1.1-1.3x from 600, equal at 192; plain C equal). */
#ifndef DOPT__SP_BIG
#define DOPT__SP_BIG (DOPT__VBYTES == 64 ? 768 : 256)
#endif
#ifndef DOPT__SP_LEAF
#define DOPT__SP_LEAF (DOPT__VBYTES == 64 ? 256 : 128)
#endif
/* Blocking of the packed products (dopt__sp_syrk_packed): KC-deep slabs, blocks of about MC
 * rows (kept in the L2 cache while every column sliver passes over them). */
#ifndef DOPT__SP_KC
#define DOPT__SP_KC 256
#endif
#ifndef DOPT__SP_MC
#define DOPT__SP_MC 144
#endif
/* Column width of the register tiles of the packed trailing updates (dopt__sp_syrk_packed): with
 * AVX-512 MR x 8 (24 accumulators of the 32 vector registers), else dopt.h's tile (MR x NR).
 * DOPT__SP_TW: the column width of the register tiles of the triangular solve (dopt__sp_trsm):
 * 8 with AVX-512 (3 x 8 accumulators), 6 with AVX2 (2 x 6 of 16 registers: 1.25x the speed of
 * 2 x 4 on a Zen 3, m = 938, nb = 64) and 4 with NEON (4 x 4). */
#define DOPT__SP_NR (DOPT__VBYTES == 64 ? 8 : DOPT__NR)
#define DOPT__SP_TW (DOPT__VBYTES == 64 ? 8 : DOPT__VBYTES == 32 ? 6 : 4)
/* the widest SP_NR of the families this build holds (sizes of shared buffers) */
#define DOPT__SP_NR_MAX (DOPT__DISPATCH ? 8 : DOPT__SP_NR)
/* The lane batch (dopt__sp_lane_*): DOPT__SP_W matrices side by side, one vector lane each (one
 * register of reals of the kernel family: AVX-512 8 doubles or 16 floats, AVX2 4 or 8; else 4, in
 * plain loops the compiler vectorizes).  Its register tiles hold DOPT__SP_LMR x DOPT__SP_LNC lane
 * vectors; supernodes are factored right-looking in column blocks of DOPT__SP_LNB, each block
 * left-looking in groups of DOPT__SP_LNC columns.  These macros read DOPT__VBYTES when they
 * expand, so inside the lane kernel region they follow the family pass; DOPT__SP_WMAX is the
 * widest W of the families this build holds (sizes of the arrays shared by all of them). */
#define DOPT__SP_VLANES (DOPT__VBYTES >= 32) /* vector lanes (AVX-512, AVX2); NEON takes 4 plain lanes */
#define DOPT__SP_W (DOPT__SP_VLANES ? DOPT__VLEN : 4)
#define DOPT__SP_LMR (DOPT__VBYTES == 64 ? 8 : DOPT__VBYTES == 32 ? 4 : 2) /* AVX2's 16 registers: 4 x 3 sums */
#define DOPT__SP_WMAX (DOPT__DISPATCH ? (int)(64 / sizeof(DOPT_REAL)) : DOPT__SP_W)
#define DOPT__SP_LNC 3
#ifndef DOPT__SP_LNB
#define DOPT__SP_LNB 96 /* measured on the cube's 228-column root: 48 to 240 within 5% */
#endif
/* The lane batch is declined (reserve_batch returns DOPT_ERR_UNSUPPORTED: the least-squares
 * layer then solves the batch one element after the other) when its factor storage, W times
 * one factor's, would exceed this many bytes: past the last-level cache a big dense root runs
 * faster one matrix at a time (Theseus 1024-pose graphs, 1002-column root: 2.21 s in lanes
 * against 2.10 s sequential; the cube's 6.6 MB factor in 0.70x the time in lanes). */
/* The lane batch is offered (batch_width, factor_batch, ...) where its kernels run on vector
 * extensions of 32 bytes or more (AVX-512, AVX2: in a dispatched build, where the CPU runs one of
 * those families).  Elsewhere (NEON, plain C) it is correct but slower than one matrix at a time,
 * so it is offered only with DOPT_SPARSE_PLAIN_LANES defined (the tests define it, to keep that
 * code checked): the plain-C 4-lane build keeps its lane structs in memory (cube batch of 256 on
 * AVX2 hardware: 11.1 s in lanes against 2.5 s one at a time).  DOPT__SP_LANES_ON: the
 * compile-time family's answer. */
#ifndef DOPT__SP_LANES_ON
#if DOPT__VBYTES >= 32 || defined(DOPT_SPARSE_PLAIN_LANES)
#define DOPT__SP_LANES_ON 1
#else
#define DOPT__SP_LANES_ON 0
#endif
#endif
#ifndef DOPT__SP_LANE_MAX_BYTES
#define DOPT__SP_LANE_MAX_BYTES ((double)(32u << 20))
#endif
/* DOPT__SP_UNROLL: unroll the next loop completely (its count a constant after inlining), so
 * that the lane tiles' sums are registers, not a stack array GCC zeroes and spills (AVX2). */
#if (defined(__GNUC__) && __GNUC__ >= 8) || defined(__clang__)
#define DOPT__SP_UNROLL _Pragma("GCC unroll 16")
#else
#define DOPT__SP_UNROLL
#endif
#if defined(__GNUC__) || defined(__clang__)
#define DOPT__SP_INLINE inline __attribute__((always_inline))
#else
#define DOPT__SP_INLINE inline
#endif

/* ---- small allocation helpers: every array remembers nothing, so sizes are passed back ------ */

static void *dopt__sp_alloc(const dopt_hooks *h, size_t count, size_t elem, int *fail)
{
    void *p = dopt_alloc(h, (count ? count : 1) * elem);
    if (!p) *fail = 1;
    return p;
}
static void dopt__sp_free(const dopt_hooks *h, void *p, size_t count, size_t elem)
{
    dopt_free(h, p, (count ? count : 1) * elem);
}

/* Left-looking descendant lists (numeric factorizations): supernode d's rows from position p
 * on still have updates to send; record p and link d into the list head[t] of the supernode t
 * holding its row p, or nowhere once p is past d's rows. */
static void dopt__sp_link_next(const dopt_sparse_symbolic *S, int *head, int *next, int *lpos, int d, int p)
{
    lpos[d] = p;
    if (p < S->rowptr[d + 1] - S->rowptr[d]) {
        const int t = S->col2super[S->rowind[S->rowptr[d] + p]];
        next[d] = head[t];
        head[t] = d;
    }
}

/* ---- elimination tree (Liu): climb from each i < j to its current root, with path
 * compression through `ancestor` ------------------------------------------------------------- */

DOPT_API void dopt_sparse_etree(int n, const int *Up, const int *Ui, int *parent, int *iwork)
{
    int *ancestor = iwork, j, p;
    for (j = 0; j < n; ++j) {
        parent[j] = -1;
        ancestor[j] = -1;
        for (p = Up[j]; p < Up[j + 1]; ++p) {
            int i = Ui[p];
            while (i != -1 && i < j) {
                int next = ancestor[i];
                ancestor[i] = j; /* path compression */
                if (next == -1) parent[i] = j;
                i = next;
            }
        }
    }
}

/* ---- postorder: iterative depth-first search from every root --------------------------------- */

DOPT_API void dopt_sparse_postorder(int n, const int *parent, int *post, int *iwork)
{
    int *head = iwork, *next = iwork + n, *stack = iwork + 2 * n, j, k = 0;
    for (j = 0; j < n; ++j) head[j] = -1;
    for (j = n - 1; j >= 0; --j) { /* children lists in increasing order */
        if (parent[j] == -1) continue;
        next[j] = head[parent[j]];
        head[parent[j]] = j;
    }
    for (j = 0; j < n; ++j) {
        int top = 0;
        if (parent[j] != -1) continue;
        stack[0] = j;
        while (top >= 0) {
            int p = stack[top], c = head[p];
            if (c == -1) {
                --top;
                post[k++] = p;
            } else {
                head[p] = next[c]; /* consume child c */
                stack[++top] = c;
            }
        }
    }
}

/* ---- column counts (Gilbert, Ng, Peyton): the row subtree of row i is the union of the tree
 * paths from each j with L(i,j) != 0 up to i; a column's count is its number of row subtrees.
 * Walking columns in postorder, j is a leaf of row i's subtree exactly when first[j] (its first
 * descendant) comes after the previous leaf of row i; the overlap of consecutive leaves' paths
 * is subtracted at their least common ancestor (found by path-compressed `ancestor`). -------- */

DOPT_API void dopt_sparse_colcounts(int n, const int *Lp, const int *Li, const int *parent,
                                    int *colcount, int *iwork)
{
    int *first = iwork, *maxfirst = iwork + n, *prevleaf = iwork + 2 * n, *ancestor = iwork + 3 * n;
    int *delta = colcount, j, k, p;
    for (j = 0; j < n; ++j) first[j] = -1;
    for (k = 0; k < n; ++k) { /* postordered: node k is the k-th in postorder */
        delta[k] = first[k] == -1; /* leaves of the tree start with one */
        for (j = k; j != -1 && first[j] == -1; j = parent[j]) first[j] = k;
    }
    for (j = 0; j < n; ++j) {
        maxfirst[j] = -1;
        prevleaf[j] = -1;
        ancestor[j] = j;
    }
    for (j = 0; j < n; ++j) {
        if (parent[j] != -1) delta[parent[j]]--;
        for (p = Lp[j]; p < Lp[j + 1]; ++p) {
            int i = Li[p], jprev, q, s;
            if (i <= j || first[j] <= maxfirst[i]) continue; /* j is not a new leaf of row i */
            maxfirst[i] = first[j];
            jprev = prevleaf[i];
            prevleaf[i] = j;
            delta[j]++;
            if (jprev == -1) continue; /* first leaf of row i */
            for (q = jprev; q != ancestor[q]; q = ancestor[q]) {}
            for (s = jprev; s != q;) { /* path compression */
                int up = ancestor[s];
                ancestor[s] = q;
                s = up;
            }
            delta[q]--; /* q = lca(jprev, j): counted twice above it */
        }
        if (parent[j] != -1) ancestor[j] = parent[j];
    }
    for (j = 0; j < n; ++j)
        if (parent[j] != -1) colcount[parent[j]] += colcount[j];
}

/* ---- approximate minimum degree ---------------------------------------------------------------
 * Amestoy, Davis, Duff, "An approximate minimum degree ordering algorithm", SIAM J. Matrix Anal.
 * Appl. 17(4), 1996.  The graph is kept as a QUOTIENT GRAPH: each uneliminated variable i has a
 * list of the elements (eliminated cliques) it belongs to, followed by the variables it is still
 * directly adjacent to; each element e lists its variables.  Eliminating the variable p of least
 * approximate degree forms element Lp = (variables of p) U (variables of p's elements), absorbs
 * those elements, and updates the degree of each i in Lp with the bound
 *     d(i) <= |A_i \ i| + |Lp \ i| + sum over other elements e of |Le \ Lp|,
 * where |Le \ Lp| comes cheaply from one scan of the element lists.  Indistinguishable variables
 * (same lists) are merged into supervariables (found by hashing), variables adjacent only to Lp
 * are eliminated with p (mass elimination), elements inside Lp are absorbed (aggressive
 * absorption).  All lists live in one array `Ci` with elbow room; it is compacted when full.
 *
 * Node states: variable (elen >= 0, nv > 0); non-principal variable merged into another or
 * eliminated with an element (elen = -1, nv = 0, pe = FLIP(representative)); element (elen = -2,
 * pe = list start, or FLIP(parent element) once absorbed).  FLIP(i) = -i-2 keeps -1 free.       */

#define DOPT__FLIP(i) (-(i)-2)

DOPT_API size_t dopt_sparse_amd_iwork_size(int n, int nnz)
{
    return (size_t)nnz + (size_t)nnz / 5 + 2 * (size_t)n + 1 + 10 * ((size_t)n + 1);
}

/* Make the mark `mark` exceed every w[] entry; reset w[] when the counter would overflow. */
static int dopt__amd_mark(int mark, int lemax, int *w, int n)
{
    int k;
    if (mark < 2 || mark > INT_MAX - lemax - n - 2) {
        for (k = 0; k < n; ++k)
            if (w[k] != 0) w[k] = 1;
        mark = 2;
    }
    return mark;
}

/* Compact the live lists of Ci to its front; returns the first free position. */
static int dopt__amd_compact(int n, int *Ci, int cnz, int *pe, const int *len)
{
    int j, p, q = 0;
    for (j = 0; j < n; ++j) { /* mark each list head with its owner, saving the head value */
        if (pe[j] >= 0 && len[j] > 0) {
            p = pe[j];
            pe[j] = Ci[p];
            Ci[p] = DOPT__FLIP(j);
        }
    }
    for (p = 0; p < cnz;) {
        j = DOPT__FLIP(Ci[p]);
        if (j >= 0 && j < n && Ci[p] < -1) { /* start of j's list */
            int k;
            Ci[q] = pe[j];
            pe[j] = q++;
            p++;
            for (k = 1; k < len[j]; ++k) Ci[q++] = Ci[p++];
        } else {
            p++;
        }
    }
    return q;
}

DOPT_API void dopt_sparse_amd(int n, const int *Sp, const int *Si, int dense, int *perm, int *iwork)
{
    int cnz = Sp[n], nzmax = cnz + cnz / 5 + 2 * n + 1;
    int *Ci = iwork;
    int *len = Ci + nzmax, *nv = len + (n + 1), *next = nv + (n + 1), *head = next + (n + 1);
    int *elen = head + (n + 1), *degree = elen + (n + 1), *w = degree + (n + 1);
    int *hhead = w + (n + 1), *last = hhead + (n + 1), *pe = last + (n + 1);
    int i, j, k, p, nel = 0, mindeg = 0, lemax = 0, mark, norder = 0;
    if (n == 0) return;
    if (dense < 0) {
        double d = 10.0 * sqrt((double)n);
        dense = d < 16 ? 16 : (int)d;
    }
    if (dense > n - 2) dense = n - 2;
    memcpy(Ci, Si, (size_t)cnz * sizeof(int));
    for (i = 0; i < n; ++i) {
        pe[i] = Sp[i];
        len[i] = Sp[i + 1] - Sp[i];
    }
    len[n] = 0;
    pe[n] = -1;
    for (i = 0; i <= n; ++i) {
        head[i] = -1;
        last[i] = -1;
        next[i] = -1;
        hhead[i] = -1;
        nv[i] = 1;
        w[i] = 1;
        elen[i] = 0;
        degree[i] = len[i];
    }
    mark = dopt__amd_mark(0, 0, w, n);
    elen[n] = -2; /* node n: the sink of dense rows */
    nv[n] = 0;
    w[n] = 0;
    for (i = 0; i < n; ++i) {
        int d = degree[i];
        if (d == 0) { /* isolated: an element right away, ordered first */
            elen[i] = -2;
            nel++;
            pe[i] = -1;
            w[i] = 0;
            perm[norder++] = i;
        } else if (d > dense && dense >= 0) { /* dense: ordered last, with node n */
            nv[n]++;
            nv[i] = 0;
            elen[i] = -1;
            nel++;
            pe[i] = DOPT__FLIP(n);
        } else {
            if (head[d] != -1) last[head[d]] = i;
            next[i] = head[d];
            head[d] = i;
        }
    }
    while (nel < n) {
        int elenk, nvk, pk1, pk2, dk = 0, k1, e, pj, ln, h;
        /* 1. pivot of least approximate degree */
        for (k = -1; mindeg < n && (k = head[mindeg]) == -1; mindeg++) {}
        if (next[k] != -1) last[next[k]] = -1;
        head[mindeg] = next[k];
        elenk = elen[k];
        nvk = nv[k];
        nel += nvk;
        perm[norder++] = k;
        /* 2. room for the new element at the end of Ci */
        if (elenk > 0 && cnz + mindeg >= nzmax) cnz = dopt__amd_compact(n, Ci, cnz, pe, len);
        /* 3. new element Lk = variables of k and of k's elements (flagged by nv < 0) */
        nv[k] = -nvk;
        p = pe[k];
        pk1 = elenk == 0 ? p : cnz;
        pk2 = pk1;
        for (k1 = 1; k1 <= elenk + 1; ++k1) {
            int kk;
            if (k1 > elenk) {
                e = k;
                pj = p;
                ln = len[k] - elenk;
            } else {
                e = Ci[p++];
                pj = pe[e];
                ln = len[e];
            }
            for (kk = 1; kk <= ln; ++kk) {
                int nvi;
                i = Ci[pj++];
                if ((nvi = nv[i]) <= 0) continue;
                dk += nvi;
                nv[i] = -nvi;
                Ci[pk2++] = i;
                if (next[i] != -1) last[next[i]] = last[i];
                if (last[i] != -1) next[last[i]] = next[i];
                else head[degree[i]] = next[i];
            }
            if (e != k) { /* element e is absorbed into k */
                pe[e] = DOPT__FLIP(k);
                w[e] = 0;
            }
        }
        if (elenk != 0) cnz = pk2;
        degree[k] = dk;
        pe[k] = pk1;
        len[k] = pk2 - pk1;
        elen[k] = -2;
        /* 4. w[e] - mark = |Le \ Lk| for every element e next to a variable of Lk */
        mark = dopt__amd_mark(mark, lemax, w, n);
        for (pj = pk1; pj < pk2; ++pj) {
            int eln, nvi, wnvi;
            i = Ci[pj];
            if ((eln = elen[i]) <= 0) continue;
            nvi = -nv[i];
            wnvi = mark - nvi;
            for (p = pe[i]; p <= pe[i] + eln - 1; ++p) {
                int we;
                e = Ci[p];
                we = w[e];
                if (we >= mark) we -= nvi;
                else if (we != 0) we = degree[e] + wnvi;
                w[e] = we;
            }
        }
        /* 5. degree update and element absorption */
        for (pj = pk1; pj < pk2; ++pj) {
            int p1, p2, pn, p3, p4, d = 0;
            unsigned hh = 0;
            i = Ci[pj];
            p1 = pe[i];
            p2 = p1 + elen[i] - 1;
            pn = p1;
            for (p = p1; p <= p2; ++p) {
                e = Ci[p];
                if (w[e] != 0) {
                    int dext = w[e] - mark;
                    if (dext > 0) {
                        d += dext;
                        Ci[pn++] = e;
                        hh += (unsigned)e;
                    } else { /* Le inside Lk: aggressive absorption */
                        pe[e] = DOPT__FLIP(k);
                        w[e] = 0;
                    }
                }
            }
            elen[i] = pn - p1 + 1;
            p3 = pn;
            p4 = p1 + len[i];
            for (p = p2 + 1; p < p4; ++p) {
                int nvj;
                j = Ci[p];
                if ((nvj = nv[j]) <= 0) continue;
                d += nvj;
                Ci[pn++] = j;
                hh += (unsigned)j;
            }
            if (elen[i] == 1 && p3 == pn) { /* adjacent to Lk only: mass elimination */
                int nvi = -nv[i];
                pe[i] = DOPT__FLIP(k);
                dk -= nvi;
                nvk += nvi;
                nel += nvi;
                nv[i] = 0;
                elen[i] = -1;
            } else {
                degree[i] = degree[i] < d ? degree[i] : d;
                Ci[pn] = Ci[p3]; /* element k goes first in i's list */
                Ci[p3] = Ci[p1];
                Ci[p1] = k;
                len[i] = pn - p1 + 1;
                h = (int)(hh % (unsigned)n);
                next[i] = hhead[h];
                hhead[h] = i;
                last[i] = h; /* remember the hash bucket */
            }
        }
        degree[k] = dk;
        lemax = lemax > dk ? lemax : dk;
        mark = dopt__amd_mark(mark + lemax + 1, lemax, w, n);
        /* 6. supervariable detection: compare the lists of variables that hashed together */
        for (pj = pk1; pj < pk2; ++pj) {
            i = Ci[pj];
            if (nv[i] >= 0) continue;
            h = last[i];
            i = hhead[h];
            hhead[h] = -1;
            for (; i != -1 && next[i] != -1; i = next[i], mark++) {
                int jlast = i;
                ln = len[i];
                for (p = pe[i] + 1; p <= pe[i] + ln - 1; ++p) w[Ci[p]] = mark;
                for (j = next[i]; j != -1;) {
                    int ok = len[j] == ln && elen[j] == elen[i];
                    for (p = pe[j] + 1; ok && p <= pe[j] + ln - 1; ++p)
                        if (w[Ci[p]] != mark) ok = 0;
                    if (ok) { /* j is indistinguishable from i: merge */
                        pe[j] = DOPT__FLIP(i);
                        nv[i] += nv[j];
                        nv[j] = 0;
                        elen[j] = -1;
                        j = next[j];
                        next[jlast] = j;
                    } else {
                        jlast = j;
                        j = next[j];
                    }
                }
            }
        }
        mark = dopt__amd_mark(mark + 1, lemax, w, n);
        /* 7. finalize Lk: final degrees, back into the degree lists */
        for (p = pk1, pj = pk1; pj < pk2; ++pj) {
            int nvi, d;
            i = Ci[pj];
            if ((nvi = -nv[i]) <= 0) continue;
            nv[i] = nvi;
            d = degree[i] + dk - nvi;
            if (d > n - nel - nvi) d = n - nel - nvi;
            if (head[d] != -1) last[head[d]] = i;
            next[i] = head[d];
            last[i] = -1;
            head[d] = i;
            mindeg = mindeg < d ? mindeg : d;
            degree[i] = d;
            Ci[p++] = i;
        }
        nv[k] = nvk;
        if ((len[k] = p - pk1) == 0) {
            pe[k] = -1;
            w[k] = 0;
        }
        if (elenk != 0) cnz = p;
    }
    /* Order: each pivot is preceded by the variables merged into it or eliminated with it;
     * the dense rows come last.  Arrays no longer needed are reused. */
    {
        int *order = degree, *pos = last, *rep = head, *cnt = next, *start = w, t;
        for (t = 0; t < norder; ++t) {
            order[t] = perm[t];
            pos[perm[t]] = t;
        }
        pos[n] = norder;
        for (i = 0; i < n; ++i) {
            int e = i;
            if (elen[i] == -1)
                for (e = DOPT__FLIP(pe[i]); e != n && elen[e] == -1; e = DOPT__FLIP(pe[e])) {}
            rep[i] = e;
        }
        for (t = 0; t <= norder; ++t) cnt[t] = 0;
        for (i = 0; i < n; ++i) cnt[pos[rep[i]]]++;
        for (t = 0, p = 0; t <= norder; ++t) {
            start[t] = p;
            p += cnt[t];
        }
        for (i = 0; i < n; ++i)
            if (rep[i] != i) perm[start[pos[rep[i]]]++] = i; /* members first */
        for (t = 0; t < norder; ++t) perm[start[t]++] = order[t];
    }
}

/* ---- analysis --------------------------------------------------------------------------------- */

static int dopt__sp_in_triangle(dopt_uplo uplo, int i, int j) { return uplo == DOPT_LOWER ? i >= j : i <= j; }

DOPT_API void dopt_sparse_symbolic_destroy(dopt_sparse_symbolic *S)
{
    const dopt_hooks *h;
    size_t n, ns;
    if (!S) return;
    h = &S->hooks;
    n = (size_t)S->n;
    ns = (size_t)S->nsuper;
    dopt__sp_free(h, S->Ap, n + 1, sizeof(int));
    dopt__sp_free(h, S->Ai, (size_t)S->nnz_a, sizeof(int));
    dopt__sp_free(h, S->perm, n, sizeof(int));
    dopt__sp_free(h, S->iperm, n, sizeof(int));
    dopt__sp_free(h, S->parent, n, sizeof(int));
    dopt__sp_free(h, S->colcount, n, sizeof(int));
    dopt__sp_free(h, S->super, ns + 1, sizeof(int));
    dopt__sp_free(h, S->col2super, n, sizeof(int));
    dopt__sp_free(h, S->sparent, ns, sizeof(int));
    dopt__sp_free(h, S->rowind, S->rowptr ? (size_t)S->rowptr[ns] : 0, sizeof(int));
    dopt__sp_free(h, S->rowptr, ns + 1, sizeof(int));
    dopt__sp_free(h, S->valptr, ns + 1, sizeof(size_t));
    dopt__sp_free(h, S->amap, (size_t)S->nnz_a, sizeof(size_t));
    dopt__sp_free(h, S->aent, (size_t)S->nnz_a, sizeof(int));
    dopt__sp_free(h, S->adst, (size_t)S->nnz_a, sizeof(size_t));
    dopt__sp_free(h, S->aptr, ns + 1, sizeof(int));
    dopt_free(h, S, sizeof *S);
}

/* Relaxed amalgamation over the fundamental supernodes fsup[0..nf] (columns), with parent
 * supernodes fpar[] and row counts frows[] (of each first column).  Child j merges into its
 * parent j+1 (only then are their columns contiguous).  On return keep[f] = 1 for the first
 * fundamental supernode of each final supernode and frows[] holds the merged row counts. */
static void dopt__sp_amalgamate(int nf, const int *fsup, const int *fpar, int *frows, int *keep,
                                int *gcols, double *gzeros, const dopt_sparse_options *o)
{
    int j;
    int r0 = o->relax_cols[0] ? o->relax_cols[0] : 4, r1 = o->relax_cols[1] ? o->relax_cols[1] : 16;
    int r2 = o->relax_cols[2] ? o->relax_cols[2] : 48;
    double z0 = o->relax_zeros[0] ? o->relax_zeros[0] : 0.8, z1 = o->relax_zeros[1] ? o->relax_zeros[1] : 0.1;
    double z2 = o->relax_zeros[2] ? o->relax_zeros[2] : 0.05;
    for (j = 0; j < nf; ++j) {
        keep[j] = 1;
        gcols[j] = fsup[j + 1] - fsup[j];
        gzeros[j] = 0;
    }
    if (o->fundamental) return;
    for (j = nf - 2; j >= 0; --j) {
        int p = j + 1, ns, nsrow;
        double zeros, total, z;
        if (fpar[j] != p) continue;
        ns = gcols[j] + gcols[p];
        nsrow = gcols[j] + frows[p];
        zeros = gzeros[j] + gzeros[p] + (double)gcols[j] * (double)(gcols[j] + frows[p] - frows[j]);
        total = (double)ns * (ns + 1) / 2 + (double)ns * (nsrow - ns);
        z = zeros / total;
        if (ns <= r0 || (ns <= r1 && z < z0) || (ns <= r2 && z < z1) || z < z2) {
            gcols[j] = ns;
            frows[j] = nsrow;
            gzeros[j] = zeros;
            keep[p] = 0;
        }
    }
}

/* Pattern of P A P^T from the symmetric off-diagonal pattern (Sp, Si) and iperm: upper = 1 lists
 * in column c the rows r < c, upper = 0 the rows r > c.  Pp: n+1 ints, Pi: Sp[n]/2 ints,
 * iw: n ints. */
static void dopt__sp_permute_pattern(int n, const int *Sp, const int *Si, const int *ip, int upper,
                                     int *Pp, int *Pi, int *iw)
{
    int j, p;
    for (j = 0; j <= n; ++j) Pp[j] = 0;
    for (j = 0; j < n; ++j)
        for (p = Sp[j]; p < Sp[j + 1]; ++p)
            if ((ip[Si[p]] < ip[j]) == upper) Pp[ip[j] + 1]++;
    for (j = 0; j < n; ++j) Pp[j + 1] += Pp[j];
    for (j = 0; j < n; ++j) iw[j] = Pp[j];
    for (j = 0; j < n; ++j)
        for (p = Sp[j]; p < Sp[j + 1]; ++p)
            if ((ip[Si[p]] < ip[j]) == upper) Pi[iw[ip[j]]++] = ip[Si[p]];
}

/* Scratch of dopt_sparse_analyze, shared by its phases (each array's length is in its comment;
 * the lengths are kept so that the driver frees exactly what it allocated). */
typedef struct dopt__sp_scratch {
    int *Sp, *Si;          /* n+1, si_len: symmetric off-diagonal pattern of A, both triangles */
    int *Up, *Ui;          /* n+1, m: one triangle of the permuted pattern                     */
    int *iw;               /* iw_len: integer work (AMD's, then n..2n+1 for the phases)         */
    int *perm0, *post;     /* n, n: fill-reducing ordering before postordering, the postorder  */
    int *fsup, *fpar;      /* n+1, n: fundamental supernodes and their parents                 */
    int *frows, *keep;     /* n, n: row count and "starts a final supernode" of each           */
    int *gcols, *nchild;   /* n, n: amalgamated columns, children count in the etree           */
    int *byc;              /* 2 nnz: entries of A sorted by their column of L, then their rows  */
    double *gzeros;        /* n: explicit zeros added by amalgamation                          */
    size_t si_len, iw_len;
    int m;                 /* off-diagonal pairs: Sp[n] / 2                                    */
} dopt__sp_scratch;

/* Arguments of dopt_sparse_analyze: the pattern's pointers and rows, the options' ordering. */
static dopt_status dopt__sp_analyze_check(int n, const int *Ap, const int *Ai, dopt_uplo uplo,
                                          const dopt_sparse_options *o, dopt_errinfo *info)
{
    int j, p, nnz;
    if (n < 0 || (n > 0 && (!Ap || !Ai)) || (uplo != DOPT_LOWER && uplo != DOPT_UPPER))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "sparse_analyze: bad argument");
    if (n > 0 && Ap[0] != 0)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, 0, 0, "sparse_analyze: Ap[0] != 0");
    for (j = 0; j < n; ++j) {
        if (Ap[j + 1] < Ap[j])
            return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, j, 0,
                                    "sparse_analyze: column pointers decrease at this column");
    }
    nnz = n > 0 ? Ap[n] : 0;
    for (p = 0; p < nnz; ++p)
        if (Ai[p] < 0 || Ai[p] >= n)
            return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, p, 0,
                                    "sparse_analyze: row index out of range at this entry");
    if (o->ordering == DOPT_SPARSE_ORDER_USER) {
        if (!o->user_perm)
            return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "sparse_analyze: user_perm is NULL");
    } else if (o->ordering != DOPT_SPARSE_ORDER_AMD && o->ordering != DOPT_SPARSE_ORDER_NATURAL) {
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "sparse_analyze: unknown ordering");
    }
    return DOPT_OK;
}

/* Phase 1: the symmetric pattern (w->Sp, w->Si) of A's off-diagonal entries, both triangles,
 * duplicates removed; allocates w->Si and w->iw (sized for AMD).  Returns 0 when out of memory. */
static int dopt__sp_symmetric_pattern(const dopt_hooks *h, int n, const int *Ap, const int *Ai,
                                      dopt_uplo uplo, dopt__sp_scratch *w)
{
    int *Sp = w->Sp, *Si, *pos, *mark, j, p, q, fail = 0;
    size_t mS;
    for (j = 0; j <= n; ++j) Sp[j] = 0;
    for (j = 0; j < n; ++j)
        for (p = Ap[j]; p < Ap[j + 1]; ++p) {
            int i = Ai[p];
            if (i == j || !dopt__sp_in_triangle(uplo, i, j)) continue;
            Sp[i + 1]++;
            Sp[j + 1]++;
        }
    for (j = 0; j < n; ++j) Sp[j + 1] += Sp[j];
    mS = n > 0 ? (size_t)Sp[n] : 0;
    w->iw_len = dopt_sparse_amd_iwork_size(n, (int)mS);
    if (w->iw_len < 4 * (size_t)n + 1) w->iw_len = 4 * (size_t)n + 1;
    w->si_len = mS;
    w->Si = Si = (int *)dopt__sp_alloc(h, mS, sizeof(int), &fail);
    w->iw = (int *)dopt__sp_alloc(h, w->iw_len, sizeof(int), &fail);
    if (fail) return 0;
    pos = w->iw;
    mark = w->iw + n;
    for (j = 0; j < n; ++j) pos[j] = Sp[j];
    for (j = 0; j < n; ++j)
        for (p = Ap[j]; p < Ap[j + 1]; ++p) {
            int i = Ai[p];
            if (i == j || !dopt__sp_in_triangle(uplo, i, j)) continue;
            Si[pos[i]++] = j;
            Si[pos[j]++] = i;
        }
    for (j = 0; j < n; ++j) mark[j] = -1;
    for (j = 0, q = 0; j < n; ++j) { /* squeeze out duplicates */
        int start = q;
        for (p = Sp[j]; p < Sp[j + 1]; ++p) {
            int i = Si[p];
            if (mark[i] == j) continue;
            mark[i] = j;
            Si[q++] = i;
        }
        Sp[j] = start;
    }
    if (n > 0) Sp[n] = q;
    w->m = q / 2;
    return 1;
}

/* Phase 2: the fill-reducing ordering w->perm0 (AMD, natural or the user's, validated).  On the
 * block graph (bd > 1: n blocks of bd columns each, AMD and natural only), AMD's dense-row
 * threshold is the scalar one (amd_dense of n * bd columns) in blocks: a block row of deg
 * neighbours has bd * deg + bd - 1 scalar off-diagonal entries. */
static dopt_status dopt__sp_order(int n, int bd, const dopt_sparse_options *o, dopt__sp_scratch *w,
                                  dopt_errinfo *info)
{
    int k, *iw = w->iw, *perm0 = w->perm0;
    if (o->ordering == DOPT_SPARSE_ORDER_AMD) {
        const int ns = n * bd;
        int dense = bd > 1 ? (int)(10.0 * sqrt((double)ns)) : -1;
        if (o->amd_dense < 0) dense = ns;
        else if (o->amd_dense > 0) {
            double d = o->amd_dense * sqrt((double)ns);
            dense = d < 16 ? 16 : (d > ns ? ns : (int)d);
        }
        if (bd > 1) {
            if (dense < 16) dense = 16;
            dense = (dense - bd + 1) / bd;
            if (dense < 0) dense = 0;
        }
        dopt_sparse_amd(n, w->Sp, w->Si, dense, perm0, iw);
    } else if (o->ordering == DOPT_SPARSE_ORDER_NATURAL) {
        for (k = 0; k < n; ++k) perm0[k] = k;
    } else {
        for (k = 0; k < n; ++k) iw[k] = 0;
        for (k = 0; k < n; ++k) {
            int c = o->user_perm[k];
            if (c < 0 || c >= n || iw[c])
                return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, k, 0,
                                        "sparse_analyze: user_perm is not a permutation (at this position)");
            iw[c] = 1;
            perm0[k] = c;
        }
    }
    return DOPT_OK;
}

/* Phase 3: elimination tree of the permuted matrix, postordered: S->parent, S->perm, S->iperm
 * (the final ordering is perm0 followed by the postorder). */
static void dopt__sp_etree_postorder(int n, dopt_sparse_symbolic *S, dopt__sp_scratch *w)
{
    int k, *iw = w->iw, *ipost = w->iw, *par0 = S->colcount; /* colcount: scratch parent */
    for (k = 0; k < n; ++k) S->iperm[w->perm0[k]] = k;
    dopt__sp_permute_pattern(n, w->Sp, w->Si, S->iperm, 1, w->Up, w->Ui, iw);
    dopt_sparse_etree(n, w->Up, w->Ui, par0, iw);
    dopt_sparse_postorder(n, par0, w->post, iw);
    for (k = 0; k < n; ++k) ipost[w->post[k]] = k;
    for (k = 0; k < n; ++k) {
        int pk = par0[w->post[k]];
        S->parent[k] = pk == -1 ? -1 : ipost[pk];
    }
    for (k = 0; k < n; ++k) S->perm[k] = w->perm0[w->post[k]];
    for (k = 0; k < n; ++k) S->iperm[S->perm[k]] = k;
}

/* Phase 4: column counts of L (strictly lower pattern of the final permuted matrix), nnz(L)
 * and the flop count. */
static void dopt__sp_column_counts(int n, dopt_sparse_symbolic *S, dopt__sp_scratch *w)
{
    int j;
    dopt__sp_permute_pattern(n, w->Sp, w->Si, S->iperm, 0, w->Up, w->Ui, w->iw);
    dopt_sparse_colcounts(n, w->Up, w->Ui, S->parent, S->colcount, w->iw);
    S->nnz_l = 0;
    S->flops = 0;
    for (j = 0; j < n; ++j) {
        S->nnz_l += S->colcount[j];
        S->flops += (double)S->colcount[j] * S->colcount[j];
    }
}

/* Phase 5: fundamental supernodes (w->fsup[0..nf], parents w->fpar, rows w->frows): j+1
 * continues j's supernode when it is j's parent, its only child, and its column has the same
 * structure minus j.  Returns nf. */
static int dopt__sp_fundamental_supernodes(int n, const dopt_sparse_symbolic *S, dopt__sp_scratch *w)
{
    int j, s, nf = 0, *nchild = w->nchild, *iw = w->iw;
    for (j = 0; j < n; ++j) nchild[j] = 0;
    for (j = 0; j < n; ++j)
        if (S->parent[j] != -1) nchild[S->parent[j]]++;
    for (j = 0; j < n; ++j) {
        if (j == 0 || !(S->parent[j - 1] == j && S->colcount[j - 1] == S->colcount[j] + 1 && nchild[j] == 1))
            w->fsup[nf++] = j;
        iw[j] = nf - 1; /* column -> fundamental supernode */
    }
    w->fsup[nf] = n;
    for (s = 0; s < nf; ++s) {
        int last = w->fsup[s + 1] - 1;
        w->fpar[s] = S->parent[last] == -1 ? -1 : iw[S->parent[last]];
        w->frows[s] = S->colcount[w->fsup[s]];
    }
    return nf;
}

/* Phase 6: the final supernodes (those of the nf fundamental ones that amalgamation kept):
 * S->super, S->rowptr, S->col2super, S->sparent; S->nsuper and its arrays are allocated by the
 * caller.  DOPT_ERR_DIMENSION when the row structure would not fit an int. */
static dopt_status dopt__sp_final_supernodes(int n, int nf, dopt_sparse_symbolic *S,
                                             const dopt__sp_scratch *w, dopt_errinfo *info)
{
    int s, j, ns = 0;
    double rows_total = 0;
    S->rowptr[0] = 0;
    for (s = 0; s < nf; ++s) {
        if (!w->keep[s]) continue;
        S->super[ns] = w->fsup[s];
        rows_total += w->frows[s];
        if (rows_total > INT_MAX)
            return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, -1, 0, "sparse_analyze: structure exceeds int");
        S->rowptr[ns + 1] = S->rowptr[ns] + w->frows[s];
        ns++;
    }
    S->super[ns] = n;
    for (s = 0; s < S->nsuper; ++s)
        for (j = S->super[s]; j < S->super[s + 1]; ++j) S->col2super[j] = s;
    for (s = 0; s < S->nsuper; ++s) {
        int last = S->super[s + 1] - 1;
        S->sparent[s] = S->parent[last] == -1 ? -1 : S->col2super[S->parent[last]];
    }
    return DOPT_OK;
}

/* The block graph of the block path (dopt__sp_analyze_blocks): nb blocks of d columns, block b
 * = columns b*d .. b*d+d-1 of the permuted matrix; (Up, Ui) its permuted upper pattern (block
 * column I lists the blocks K < I with a nonzero block (K, I)). */
typedef struct dopt__sp_blocks {
    int nb, d;
    const int *Up, *Ui;
} dopt__sp_blocks;

/* Phase 7: row structure of each supernode (S->rowind, allocated by the caller): its own
 * columns, then every row i whose row subtree (the tree paths from the nonzeros of row i up to
 * i) passes through it.  Rows are visited in increasing order, so each list comes out sorted.
 * With bl (the block path) the walk goes once per block row, adding its d rows.  Then the value
 * offsets S->valptr and the largest supernode sizes. */
static void dopt__sp_row_structure(int n, dopt_sparse_symbolic *S, dopt__sp_scratch *w, const dopt__sp_blocks *bl)
{
    int *pos = w->iw, *mark = w->iw + n, i, s, j, p;
    const int *Up = w->Up, *Ui = w->Ui;
    if (!bl) dopt__sp_permute_pattern(n, w->Sp, w->Si, S->iperm, 1, w->Up, w->Ui, w->iw);
    for (s = 0; s < S->nsuper; ++s) {
        for (j = S->super[s]; j < S->super[s + 1]; ++j) S->rowind[S->rowptr[s] + j - S->super[s]] = j;
        pos[s] = S->rowptr[s] + S->super[s + 1] - S->super[s];
        mark[s] = -1;
    }
    if (bl) { /* block row I's scalar rows share their row subtree (supernodes hold whole blocks) */
        const int d = bl->d;
        for (i = 0; i < bl->nb; ++i) {
            int si = S->col2super[i * d];
            for (p = bl->Up[i]; p < bl->Up[i + 1]; ++p)
                for (s = S->col2super[bl->Ui[p] * d]; s != -1 && s != si && mark[s] != i; s = S->sparent[s]) {
                    DOPT_ASSERT(pos[s] + d <= S->rowptr[s + 1]);
                    for (j = 0; j < d; ++j) S->rowind[pos[s]++] = i * d + j;
                    mark[s] = i;
                }
        }
    } else {
        for (i = 0; i < n; ++i) {
            int si = S->col2super[i];
            for (p = Up[i]; p < Up[i + 1]; ++p)
                for (s = S->col2super[Ui[p]]; s != -1 && s != si && mark[s] != i; s = S->sparent[s]) {
                    DOPT_ASSERT(pos[s] < S->rowptr[s + 1]);
                    S->rowind[pos[s]++] = i;
                    mark[s] = i;
                }
        }
    }
    S->max_nsrow = 0;
    S->max_nscol = 0;
    S->valptr[0] = 0;
    for (s = 0; s < S->nsuper; ++s) {
        int nscol = S->super[s + 1] - S->super[s], nsrow = S->rowptr[s + 1] - S->rowptr[s];
        DOPT_ASSERT(pos[s] == S->rowptr[s + 1]);
        S->valptr[s + 1] = S->valptr[s] + (size_t)nsrow * (size_t)nscol;
        if (nsrow > S->max_nsrow) S->max_nsrow = nsrow;
        if (nscol > S->max_nscol) S->max_nscol = nscol;
    }
    S->nnz_storage = S->valptr[S->nsuper];
}

/* Phase 8: the largest update block a supernode sends to one ancestor (numeric workspace). */
static void dopt__sp_max_update(dopt_sparse_symbolic *S)
{
    int s;
    S->max_update = 0;
    for (s = 0; s < S->nsuper; ++s) {
        int nscol = S->super[s + 1] - S->super[s], nsrow = S->rowptr[s + 1] - S->rowptr[s];
        const int *rows = S->rowind + S->rowptr[s];
        int p1 = nscol;
        while (p1 < nsrow) {
            int t = S->col2super[rows[p1]], p2 = p1;
            size_t upd;
            while (p2 < nsrow && rows[p2] < S->super[t + 1]) p2++;
            upd = (size_t)(nsrow - p1) * (size_t)(p2 - p1);
            if (upd > S->max_update) S->max_update = upd;
            p1 = p2;
        }
    }
}

/* Phase 9: where each entry of A lands in L's values (S->amap, S->aptr/aent/adst): entries
 * grouped by their column of L (counting sort into w->byc), then placed supernode by supernode
 * through a row map. */
static void dopt__sp_entry_map(int n, const int *Ap, const int *Ai, dopt_sparse_symbolic *S,
                               dopt__sp_scratch *w)
{
    int nnz = S->nnz_a, *cp = w->iw, *map = w->iw + n + 1, *byc = w->byc, *byr = w->byc + nnz;
    int i, j, k, p, s;
    dopt_uplo uplo = S->uplo;
    for (j = 0; j <= n; ++j) cp[j] = 0;
    for (j = 0; j < n; ++j)
        for (p = Ap[j]; p < Ap[j + 1]; ++p) {
            int pi = S->iperm[Ai[p]], pj = S->iperm[j];
            S->amap[p] = DOPT__SP_NONE;
            if (dopt__sp_in_triangle(uplo, Ai[p], j)) cp[(pi < pj ? pi : pj) + 1]++;
        }
    for (j = 0; j < n; ++j) cp[j + 1] += cp[j];
    /* first by row of L (entry p into aent, its column of A into adst, both as scratch), then,
     * stably, by column of L: so each column's entries come in increasing rows, and a supernode's
     * destinations (adst) increase, which lets the numeric phase zero and scatter in one pass */
    for (k = 0; k <= n; ++k) map[k] = 0;
    for (j = 0; j < n; ++j)
        for (p = Ap[j]; p < Ap[j + 1]; ++p) {
            int pi = S->iperm[Ai[p]], pj = S->iperm[j];
            if (dopt__sp_in_triangle(uplo, Ai[p], j)) map[(pi < pj ? pj : pi) + 1]++;
        }
    for (j = 0; j < n; ++j) map[j + 1] += map[j];
    for (j = 0; j < n; ++j)
        for (p = Ap[j]; p < Ap[j + 1]; ++p) {
            int pi = S->iperm[Ai[p]], pj = S->iperm[j], r = pi < pj ? pj : pi;
            if (!dopt__sp_in_triangle(uplo, Ai[p], j)) continue;
            S->adst[map[r]] = (size_t)j;
            S->aent[map[r]++] = p;
        }
    for (k = 0; k < cp[n]; ++k) {
        int q = S->aent[k];
        j = (int)S->adst[k];
        {
            int pi = S->iperm[Ai[q]], pj = S->iperm[j], c = pi < pj ? pi : pj;
            byr[cp[c]] = pi < pj ? pj : pi;
            byc[cp[c]++] = q;
        }
    }
    for (j = n; j > 0; --j) cp[j] = cp[j - 1];
    cp[0] = 0;
    for (s = 0; s <= S->nsuper; ++s) S->aptr[s] = cp[S->super[s]];
    for (k = 0; k < cp[n]; ++k) S->aent[k] = byc[k];
    for (s = 0; s < S->nsuper; ++s) {
        const int k1 = S->super[s], nsrow = S->rowptr[s + 1] - S->rowptr[s], *rows = S->rowind + S->rowptr[s];
        for (i = 0; i < nsrow; ++i) map[rows[i]] = i;
        for (j = k1; j < S->super[s + 1]; ++j)
            for (k = cp[j]; k < cp[j + 1]; ++k)
                S->adst[k] = S->amap[byc[k]] = S->valptr[s] + (size_t)(j - k1) * (size_t)nsrow + (size_t)map[byr[k]];
    }
}

static void dopt__sp_scratch_free(const dopt_hooks *h, int n, int nnz, dopt__sp_scratch *w)
{
    dopt__sp_free(h, w->Sp, (size_t)n + 1, sizeof(int));
    dopt__sp_free(h, w->Si, w->si_len, sizeof(int));
    dopt__sp_free(h, w->Up, (size_t)n + 1, sizeof(int));
    dopt__sp_free(h, w->Ui, (size_t)w->m, sizeof(int));
    dopt__sp_free(h, w->iw, w->iw_len, sizeof(int));
    dopt__sp_free(h, w->perm0, (size_t)n, sizeof(int));
    dopt__sp_free(h, w->post, (size_t)n, sizeof(int));
    dopt__sp_free(h, w->fsup, (size_t)n + 1, sizeof(int));
    dopt__sp_free(h, w->fpar, (size_t)n, sizeof(int));
    dopt__sp_free(h, w->frows, (size_t)n, sizeof(int));
    dopt__sp_free(h, w->keep, (size_t)n, sizeof(int));
    dopt__sp_free(h, w->gcols, (size_t)n, sizeof(int));
    dopt__sp_free(h, w->nchild, (size_t)n, sizeof(int));
    dopt__sp_free(h, w->gzeros, (size_t)n, sizeof(double));
    dopt__sp_free(h, w->byc, 2 * (size_t)nnz, sizeof(int));
}

/* The symbolic object with what every analysis fills first: sizes, the pattern's copy, and the
 * arrays of n and nnz entries (the supernode arrays come later).  NULL when out of memory. */
static dopt_sparse_symbolic *dopt__sp_symbolic_new(const dopt_hooks *h, int n, const int *Ap, const int *Ai,
                                                   dopt_uplo uplo)
{
    const int nnz = n > 0 ? Ap[n] : 0;
    int fail = 0;
    dopt_sparse_symbolic *S = (dopt_sparse_symbolic *)dopt_alloc(h, sizeof *S);
    if (!S) return NULL;
    memset(S, 0, sizeof *S);
    S->hooks = *h;
    S->n = n;
    S->uplo = uplo;
    S->nnz_a = nnz;
    S->Ap = (int *)dopt__sp_alloc(h, (size_t)n + 1, sizeof(int), &fail);
    S->Ai = (int *)dopt__sp_alloc(h, (size_t)nnz, sizeof(int), &fail);
    S->perm = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    S->iperm = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    S->parent = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    S->colcount = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    S->col2super = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    S->amap = (size_t *)dopt__sp_alloc(h, (size_t)nnz, sizeof(size_t), &fail);
    S->aent = (int *)dopt__sp_alloc(h, (size_t)nnz, sizeof(int), &fail);
    S->adst = (size_t *)dopt__sp_alloc(h, (size_t)nnz, sizeof(size_t), &fail);
    if (fail) {
        dopt_sparse_symbolic_destroy(S);
        return NULL;
    }
    if (n > 0) memcpy(S->Ap, Ap, ((size_t)n + 1) * sizeof(int));
    if (nnz > 0) memcpy(S->Ai, Ai, (size_t)nnz * sizeof(int));
    return S;
}

/* The scratch of the ordering phases 1-4 (w->Si, w->iw and w->Ui come with phases 1 and 2). */
static int dopt__sp_scratch_order(const dopt_hooks *h, int n, dopt__sp_scratch *w)
{
    int fail = 0;
    w->Sp = (int *)dopt__sp_alloc(h, (size_t)n + 1, sizeof(int), &fail);
    w->Up = (int *)dopt__sp_alloc(h, (size_t)n + 1, sizeof(int), &fail);
    w->perm0 = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    w->post = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    return !fail;
}

/* Phases 5-9 of an analysis whose S->perm, iperm, parent, colcount, nnz_l and flops are set:
 * supernodes, row structure (scalar from w's pattern, or from the block graph bl), entry map.
 * Allocates w's supernode arrays and w->byc, which the caller frees (w->iw: 4n+1 ints). */
static dopt_status dopt__sp_analyze_supernodes(const dopt_hooks *h, int n, const int *Ap, const int *Ai,
                                               dopt_sparse_symbolic *S, dopt__sp_scratch *w,
                                               const dopt_sparse_options *o, const dopt__sp_blocks *bl,
                                               dopt_errinfo *info)
{
    int fail = 0, nf, s;
    dopt_status st;
    w->fsup = (int *)dopt__sp_alloc(h, (size_t)n + 1, sizeof(int), &fail);
    w->fpar = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    w->frows = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    w->keep = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    w->gcols = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    w->nchild = (int *)dopt__sp_alloc(h, (size_t)n, sizeof(int), &fail);
    w->gzeros = (double *)dopt__sp_alloc(h, (size_t)n, sizeof(double), &fail);
    if (fail) return DOPT_ERR_ALLOCATION;
    nf = dopt__sp_fundamental_supernodes(n, S, w);
    dopt__sp_amalgamate(nf, w->fsup, w->fpar, w->frows, w->keep, w->gcols, w->gzeros, o);
    S->nsuper = 0;
    for (s = 0; s < nf; ++s) S->nsuper += w->keep[s];
    S->super = (int *)dopt__sp_alloc(h, (size_t)S->nsuper + 1, sizeof(int), &fail);
    S->sparent = (int *)dopt__sp_alloc(h, (size_t)S->nsuper, sizeof(int), &fail);
    S->rowptr = (int *)dopt__sp_alloc(h, (size_t)S->nsuper + 1, sizeof(int), &fail);
    S->valptr = (size_t *)dopt__sp_alloc(h, (size_t)S->nsuper + 1, sizeof(size_t), &fail);
    S->aptr = (int *)dopt__sp_alloc(h, (size_t)S->nsuper + 1, sizeof(int), &fail);
    if (fail) return DOPT_ERR_ALLOCATION;
    st = dopt__sp_final_supernodes(n, nf, S, w, info);
    if (st != DOPT_OK) return st;
    S->rowind = (int *)dopt__sp_alloc(h, (size_t)S->rowptr[S->nsuper], sizeof(int), &fail);
    if (fail) return DOPT_ERR_ALLOCATION;
    dopt__sp_row_structure(n, S, w, bl);
    dopt__sp_max_update(S);
    w->byc = (int *)dopt__sp_alloc(h, 2 * (size_t)S->nnz_a, sizeof(int), &fail);
    if (fail) return DOPT_ERR_ALLOCATION;
    dopt__sp_entry_map(n, Ap, Ai, S, w);
    return DOPT_OK;
}

/* dopt_sparse_analyze: a driver over the phases above (CSparse's cs_schol in shape). */
DOPT_API dopt_status dopt_sparse_analyze(const dopt_hooks *hooks, int n, const int *Ap,
                                         const int *Ai, dopt_uplo uplo,
                                         const dopt_sparse_options *options,
                                         dopt_sparse_symbolic **out, dopt_errinfo *info)
{
    dopt_sparse_options o;
    dopt_sparse_symbolic *S;
    dopt_hooks h;
    dopt__sp_scratch w;
    int fail = 0, nnz;
    dopt_status st;
    if (out) *out = NULL;
    if (options) o = *options;
    else memset(&o, 0, sizeof o);
    if (!out) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "sparse_analyze: bad argument");
    st = dopt__sp_analyze_check(n, Ap, Ai, uplo, &o, info);
    if (st != DOPT_OK) return st;
    if (hooks) h = *hooks;
    else memset(&h, 0, sizeof h);
    nnz = n > 0 ? Ap[n] : 0;
    memset(&w, 0, sizeof w);
    S = dopt__sp_symbolic_new(&h, n, Ap, Ai, uplo);
    if (!S) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "sparse_analyze: out of memory");
    if (!dopt__sp_scratch_order(&h, n, &w) || !dopt__sp_symmetric_pattern(&h, n, Ap, Ai, uplo, &w)) goto oom;
    st = dopt__sp_order(n, 1, &o, &w, info);
    if (st != DOPT_OK) goto done;
    w.Ui = (int *)dopt__sp_alloc(&h, (size_t)w.m, sizeof(int), &fail);
    if (fail) goto oom;
    dopt__sp_etree_postorder(n, S, &w);
    dopt__sp_column_counts(n, S, &w);
    st = dopt__sp_analyze_supernodes(&h, n, Ap, Ai, S, &w, &o, NULL, info);
    if (st != DOPT_ERR_ALLOCATION) goto done;
oom:
    st = dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "sparse_analyze: out of memory");
done:
    dopt__sp_scratch_free(&h, n, nnz, &w);
    if (st != DOPT_OK) {
        dopt_sparse_symbolic_destroy(S);
        return st;
    }
    *out = S;
    return DOPT_OK;
}

/* 1 when the block pattern allows the block path of the least-squares layer: options AMD or
 * natural without scalar_analysis, every block of one size d >= 1 at columns b*d, block columns
 * with their diagonal block first and strictly increasing rows in range. */
static int dopt__sp_blocks_ok(const dopt_block_pattern *pat, const dopt_sparse_options *o)
{
    int b, k, d;
    if (o->scalar_analysis || (o->ordering != DOPT_SPARSE_ORDER_AMD && o->ordering != DOPT_SPARSE_ORDER_NATURAL))
        return 0;
    if (!pat || pat->nblocks < 1 || !pat->block_dim || !pat->block_start || !pat->col_start || !pat->row_block)
        return 0;
    d = pat->block_dim[0];
    if (d < 1 || pat->col_start[0] != 0 || pat->n != pat->nblocks * d) return 0;
    for (b = 0; b < pat->nblocks; ++b) {
        const int k0 = pat->col_start[b], k1 = pat->col_start[b + 1];
        if (pat->block_dim[b] != d || pat->block_start[b] != b * d || k1 <= k0 || pat->row_block[k0] != b) return 0;
        for (k = k0 + 1; k < k1; ++k)
            if (pat->row_block[k] <= pat->row_block[k - 1] || pat->row_block[k] >= pat->nblocks) return 0;
    }
    return 1;
}

/* The block path: (Ap, Ai) is pat's scalar LOWER pattern (every stored block dense; the
 * diagonal blocks full squares), pat passed dopt__sp_blocks_ok.  Phases 1-4 run on the block
 * graph (nb nodes; the same functions), and are expanded: block b of the final order is columns
 * b*d .. b*d+d-1, a chain in the elimination tree whose last column's parent is the first column
 * of the block parent, column t of it has d - t + d (blockcount - 1) entries.  The supernodes
 * then hold whole blocks, and phases 5-9 run as in dopt_sparse_analyze (phase 7 by block rows):
 * the result equals dopt_sparse_analyze of (Ap, Ai) with S->perm as user_perm. */
static dopt_status dopt__sp_analyze_blocks(const dopt_hooks *h, const dopt_block_pattern *pat, const int *Ap,
                                           const int *Ai, const dopt_sparse_options *o,
                                           dopt_sparse_symbolic **out, dopt_errinfo *info)
{
    const int nb = pat->nblocks, d = pat->block_dim[0], n = pat->n, nnzb = pat->col_start[nb];
    dopt_sparse_symbolic B, *S;
    dopt__sp_scratch wb, w;
    dopt__sp_blocks bl;
    int fail = 0, b, t;
    dopt_status st;
    *out = NULL;
    memset(&B, 0, sizeof B);
    memset(&wb, 0, sizeof wb);
    memset(&w, 0, sizeof w);
    S = dopt__sp_symbolic_new(h, n, Ap, Ai, DOPT_LOWER);
    B.perm = (int *)dopt__sp_alloc(h, (size_t)nb, sizeof(int), &fail);
    B.iperm = (int *)dopt__sp_alloc(h, (size_t)nb, sizeof(int), &fail);
    B.parent = (int *)dopt__sp_alloc(h, (size_t)nb, sizeof(int), &fail);
    B.colcount = (int *)dopt__sp_alloc(h, (size_t)nb, sizeof(int), &fail);
    w.iw_len = 4 * (size_t)n + 1;
    w.iw = (int *)dopt__sp_alloc(h, w.iw_len, sizeof(int), &fail);
    if (fail || !S || !dopt__sp_scratch_order(h, nb, &wb) ||
        !dopt__sp_symmetric_pattern(h, nb, pat->col_start, pat->row_block, DOPT_LOWER, &wb))
        goto oom;
    st = dopt__sp_order(nb, d, o, &wb, info);
    if (st != DOPT_OK) goto done;
    wb.Ui = (int *)dopt__sp_alloc(h, (size_t)wb.m, sizeof(int), &fail);
    if (fail) goto oom;
    dopt__sp_etree_postorder(nb, &B, &wb);
    dopt__sp_column_counts(nb, &B, &wb);
    S->nnz_l = S->flops = 0;
    for (b = 0; b < nb; ++b)
        for (t = 0; t < d; ++t) {
            const int j = b * d + t, cc = d - t + d * (B.colcount[b] - 1);
            S->perm[j] = B.perm[b] * d + t;
            S->iperm[S->perm[j]] = j;
            S->parent[j] = t < d - 1 ? j + 1 : (B.parent[b] < 0 ? -1 : B.parent[b] * d);
            S->colcount[j] = cc;
            S->nnz_l += cc;
            S->flops += (double)cc * cc;
        }
    dopt__sp_permute_pattern(nb, wb.Sp, wb.Si, B.iperm, 1, wb.Up, wb.Ui, wb.iw);
    bl.nb = nb;
    bl.d = d;
    bl.Up = wb.Up;
    bl.Ui = wb.Ui;
    st = dopt__sp_analyze_supernodes(h, n, Ap, Ai, S, &w, o, &bl, info);
    if (st != DOPT_ERR_ALLOCATION) goto done;
oom:
    st = dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "sparse_analyze: out of memory");
done:
    dopt__sp_scratch_free(h, nb, nnzb, &wb);
    dopt__sp_scratch_free(h, n, S ? S->nnz_a : 0, &w);
    dopt__sp_free(h, B.perm, (size_t)nb, sizeof(int));
    dopt__sp_free(h, B.iperm, (size_t)nb, sizeof(int));
    dopt__sp_free(h, B.parent, (size_t)nb, sizeof(int));
    dopt__sp_free(h, B.colcount, (size_t)nb, sizeof(int));
    if (st != DOPT_OK) {
        dopt_sparse_symbolic_destroy(S);
        return st;
    }
    *out = S;
    return DOPT_OK;
}

#ifdef __cplusplus
}
#endif

#define DOPT_SPARSE__PASS_IMPL
#define DOPT__DRIVE "dopt_sparse.h"
#include "dopt.h"
#undef DOPT__DRIVE
#undef DOPT_SPARSE__PASS_IMPL
#endif /* DOPT_IMPLEMENTATION */
#endif /* !DOPT__DRIVE */

/* =============================================================================================== */
/* Generic implementation (float and double).                                                     */
/* =============================================================================================== */
#if defined(DOPT_SPARSE__PASS_IMPL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
#ifdef __cplusplus
extern "C" {
#endif

/* ---- triplets, CSC ----------------------------------------------------------------------------- */

DOPT_API dopt_status DOPT_FN(dopt_sparse_triplets_to_csc)(int nrows, int ncols, int nnz,
                                                          const int *Ti, const int *Tj,
                                                          const DOPT_REAL *Tx, int symmetric,
                                                          int *Cp, int *Ci, DOPT_REAL *Cx,
                                                          int *iwork, DOPT_REAL *rwork, int *bad)
{
    int *Rp = iwork, *Rj = iwork + nrows + 1, i, j, k, q;
    DOPT_REAL *Rx = rwork;
    if (bad) *bad = -1;
    if (nrows < 0 || ncols < 0 || nnz < 0 || !Cp || (nnz > 0 && (!Ti || !Tj || !Ci || !Cx || !rwork)) || !iwork)
        return DOPT_ERR_INVALID_ARGUMENT;
    if (symmetric && nrows != ncols) return DOPT_ERR_DIMENSION;
    for (i = 0; i <= nrows; ++i) Rp[i] = 0;
    for (k = 0; k < nnz; ++k) {
        i = Ti[k];
        j = Tj[k];
        if (i < 0 || i >= nrows || j < 0 || j >= ncols) {
            if (bad) *bad = k;
            return DOPT_ERR_INVALID_ARGUMENT;
        }
        if (symmetric && i < j) i = j;
        Rp[i + 1]++;
    }
    for (i = 0; i < nrows; ++i) Rp[i + 1] += Rp[i];
    for (k = 0; k < nnz; ++k) { /* row-compressed copy (columns unsorted) */
        i = Ti[k];
        j = Tj[k];
        if (symmetric && i < j) {
            int t = i;
            i = j;
            j = t;
        }
        Rj[Rp[i]] = j;
        Rx[Rp[i]++] = Tx ? Tx[k] : (DOPT_REAL)1;
    }
    for (i = nrows; i > 0; --i) Rp[i] = Rp[i - 1];
    Rp[0] = 0;
    for (j = 0; j <= ncols; ++j) Cp[j] = 0; /* transpose: rows come out sorted */
    for (k = 0; k < nnz; ++k) Cp[Rj[k] + 1]++;
    for (j = 0; j < ncols; ++j) Cp[j + 1] += Cp[j];
    for (i = 0; i < nrows; ++i)
        for (k = Rp[i]; k < Rp[i + 1]; ++k) {
            j = Rj[k];
            Ci[Cp[j]] = i;
            Cx[Cp[j]++] = Rx[k];
        }
    for (j = ncols; j > 0; --j) Cp[j] = Cp[j - 1];
    Cp[0] = 0;
    for (j = 0, q = 0; j < ncols; ++j) { /* sum duplicates (adjacent now) */
        int p0 = Cp[j], p1 = Cp[j + 1], start = q, p;
        for (p = p0; p < p1; ++p) {
            if (q > start && Ci[q - 1] == Ci[p]) {
                Cx[q - 1] += Cx[p];
            } else {
                Ci[q] = Ci[p];
                Cx[q++] = Cx[p];
            }
        }
        Cp[j] = start;
    }
    Cp[ncols] = q;
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_sparse_csc_destroy)(DOPT_FN(dopt_sparse_csc) *A)
{
    size_t nz;
    if (!A) return;
    nz = A->nzmax;
    dopt__sp_free(&A->hooks, A->i, nz, sizeof(int));
    dopt__sp_free(&A->hooks, A->x, nz, sizeof(DOPT_REAL));
    dopt__sp_free(&A->hooks, A->p, (size_t)A->ncols + 1, sizeof(int));
    A->p = A->i = NULL;
    A->x = NULL;
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_csc_from_triplets)(const dopt_hooks *hooks, int nrows,
                                                            int ncols, int nnz, const int *Ti,
                                                            const int *Tj, const DOPT_REAL *Tx,
                                                            int symmetric,
                                                            DOPT_FN(dopt_sparse_csc) *A,
                                                            dopt_errinfo *info)
{
    int fail = 0, bad, *iw, *Ci;
    DOPT_REAL *rw, *Cx;
    size_t nz, niw;
    dopt_status st;
    if (!A || nrows < 0 || ncols < 0 || nnz < 0)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "csc_from_triplets: bad argument");
    memset(A, 0, sizeof *A);
    if (hooks) A->hooks = *hooks;
    A->nrows = nrows;
    A->ncols = ncols;
    A->symmetric = symmetric ? 1 : 0;
    nz = (size_t)nnz;
    niw = (size_t)nrows + 1 + nz;
    A->p = (int *)dopt__sp_alloc(&A->hooks, (size_t)ncols + 1, sizeof(int), &fail);
    Ci = (int *)dopt__sp_alloc(&A->hooks, nz, sizeof(int), &fail);
    Cx = (DOPT_REAL *)dopt__sp_alloc(&A->hooks, nz, sizeof(DOPT_REAL), &fail);
    iw = (int *)dopt__sp_alloc(&A->hooks, niw, sizeof(int), &fail);
    rw = (DOPT_REAL *)dopt__sp_alloc(&A->hooks, nz, sizeof(DOPT_REAL), &fail);
    if (fail) {
        st = dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "csc_from_triplets: out of memory");
    } else {
        st = DOPT_FN(dopt_sparse_triplets_to_csc)(nrows, ncols, nnz, Ti, Tj, Tx, symmetric, A->p, Ci,
                                                  Cx, iw, rw, &bad);
        if (st != DOPT_OK)
            dopt_errinfo_set(info, st, bad, 0,
                             st == DOPT_ERR_DIMENSION ? "csc_from_triplets: symmetric needs a square matrix"
                                                      : "csc_from_triplets: index out of range at this triplet");
    }
    dopt__sp_free(&A->hooks, iw, niw, sizeof(int));
    dopt__sp_free(&A->hooks, rw, nz, sizeof(DOPT_REAL));
    if (st == DOPT_OK) {
        A->i = Ci;
        A->x = Cx;
        A->nzmax = nz;
        return DOPT_OK;
    }
    dopt__sp_free(&A->hooks, Ci, nz, sizeof(int));
    dopt__sp_free(&A->hooks, Cx, nz, sizeof(DOPT_REAL));
    dopt__sp_free(&A->hooks, A->p, (size_t)ncols + 1, sizeof(int));
    A->p = NULL;
    return st;
}

#ifndef DOPT_NO_STDIO
/* Lower-case copy of the token for the header comparison. */
static void DOPT_FN(dopt__mm_lower)(char *t)
{
    for (; *t; ++t)
        if (*t >= 'A' && *t <= 'Z') *t = (char)(*t - 'A' + 'a');
}

/* Read one line into buf; returns 0 at end of file, -1 when the line does not fit. */
static int DOPT_FN(dopt__mm_line)(FILE *fp, char *buf, int size)
{
    size_t len;
    if (!fgets(buf, size, fp)) return 0;
    len = strlen(buf);
    if (len == (size_t)size - 1 && buf[len - 1] != '\n' && !feof(fp)) return -1;
    return 1;
}

static int DOPT_FN(dopt__mm_blank)(const char *s)
{
    for (; *s; ++s)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

#ifndef DOPT__MM_SLACK
#define DOPT__MM_SLACK 65536L /* rows/columns allowed beyond 2 x entries */
#endif

/* grow the three triplet arrays from cap to nc entries (all three or none: on failure they are
   left as they were, to be freed with cap) */
static dopt_status DOPT_FN(dopt__mm_grow)(const dopt_hooks *h, int **Ti, int **Tj, DOPT_REAL **Tx, long cap, long nc)
{
    size_t o = (size_t)cap, c = (size_t)nc;
    int fail = 0;
    int *a = (int *)dopt__sp_alloc(h, c, sizeof(int), &fail), *b = (int *)dopt__sp_alloc(h, c, sizeof(int), &fail);
    DOPT_REAL *x = (DOPT_REAL *)dopt__sp_alloc(h, c, sizeof(DOPT_REAL), &fail);
    if (fail) {
        dopt__sp_free(h, a, c, sizeof(int));
        dopt__sp_free(h, b, c, sizeof(int));
        dopt__sp_free(h, x, c, sizeof(DOPT_REAL));
        return DOPT_ERR_ALLOCATION;
    }
    if (o) {
        memcpy(a, *Ti, o * sizeof(int));
        memcpy(b, *Tj, o * sizeof(int));
        memcpy(x, *Tx, o * sizeof(DOPT_REAL));
    }
    dopt__sp_free(h, *Ti, o, sizeof(int));
    dopt__sp_free(h, *Tj, o, sizeof(int));
    dopt__sp_free(h, *Tx, o, sizeof(DOPT_REAL));
    *Ti = a; *Tj = b; *Tx = x;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_read_mm)(const dopt_hooks *hooks, const char *path,
                                                  DOPT_FN(dopt_sparse_csc) *A, dopt_errinfo *info)
{
    char line[1024], obj[64], fmt[64], field[64], sym[64], msg[160], *end;
    FILE *fp;
    long lineno = 0, m, n, nnz, k = 0, cap = 0;
    int *Ti = NULL, *Tj = NULL, pattern, symmetric, r;
    DOPT_REAL *Tx = NULL;
    dopt_hooks h;
    dopt_status st = DOPT_OK;
    if (!A || !path) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "read_mm: bad argument");
    memset(A, 0, sizeof *A);
    if (hooks) h = *hooks;
    else memset(&h, 0, sizeof h);
    fp = dopt__fopen(path, "r");
    if (!fp) return dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "read_mm: cannot open file");
    r = DOPT_FN(dopt__mm_line)(fp, line, (int)sizeof line);
    lineno = 1;
    if (r <= 0 || sscanf(line, "%%%%MatrixMarket %63s %63s %63s %63s", obj, fmt, field, sym) != 4) {
        st = dopt_errinfo_set(info, DOPT_ERR_PARSE, -1, 1, "read_mm: expected '%%MatrixMarket matrix coordinate <field> <symmetry>'");
        goto done;
    }
    DOPT_FN(dopt__mm_lower)(obj);
    DOPT_FN(dopt__mm_lower)(fmt);
    DOPT_FN(dopt__mm_lower)(field);
    DOPT_FN(dopt__mm_lower)(sym);
    if (strcmp(obj, "matrix") != 0 || strcmp(fmt, "coordinate") != 0 ||
        (strcmp(field, "real") != 0 && strcmp(field, "integer") != 0 && strcmp(field, "pattern") != 0) ||
        (strcmp(sym, "general") != 0 && strcmp(sym, "symmetric") != 0)) {
        st = dopt_errinfo_set(info, DOPT_ERR_UNSUPPORTED, -1, 1,
                              "read_mm: only 'matrix coordinate real|integer|pattern general|symmetric' is supported");
        goto done;
    }
    pattern = strcmp(field, "pattern") == 0;
    symmetric = strcmp(sym, "symmetric") == 0;
    for (;;) { /* comments, then the size line */
        r = DOPT_FN(dopt__mm_line)(fp, line, (int)sizeof line);
        lineno++;
        if (r == 0) {
            st = dopt_errinfo_set(info, DOPT_ERR_PARSE, -1, lineno, "read_mm: missing size line");
            goto done;
        }
        if (r < 0) {
            st = dopt_errinfo_set(info, DOPT_ERR_PARSE, -1, lineno, "read_mm: line too long");
            goto done;
        }
        if (line[0] != '%' && !DOPT_FN(dopt__mm_blank)(line)) break;
    }
    {
        char *e1, *e2;
        m = strtol(line, &e1, 10);
        n = strtol(e1, &e2, 10);
        nnz = strtol(e2, &end, 10);
        if (e1 == line || e2 == e1 || end == e2) m = -1; /* a number is missing */
    }
    if (!DOPT_FN(dopt__mm_blank)(end) || m < 0 || n < 0 || nnz < 0 || m > INT_MAX - 1 || n > INT_MAX - 1 ||
        nnz > INT_MAX / 2 || (symmetric && m != n)) {
        st = dopt_errinfo_set(info, DOPT_ERR_PARSE, -1, lineno,
                              "read_mm: size line must be 'rows cols entries' (square when symmetric)");
        goto done;
    }
    if ((m > n ? m : n) > 2 * nnz + DOPT__MM_SLACK) { /* memory follows the entries, not the header */
        st = dopt_errinfo_set(info, DOPT_ERR_UNSUPPORTED, -1, lineno,
                              "read_mm: rows or columns above 2 x entries + 65536 (mostly empty matrix)");
        goto done;
    }
    while (k < nnz) {
        long i, j;
        double v = 1;
        char *q;
        if (k == cap) { /* the triplets grow with the entries read, not with the header's count */
            long nc = cap ? (cap > nnz / 2 ? nnz : 2 * cap) : (nnz < 4096 ? nnz : 4096);
            if (DOPT_FN(dopt__mm_grow)(&h, &Ti, &Tj, &Tx, cap, nc) != DOPT_OK) {
                st = dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "read_mm: out of memory");
                goto done;
            }
            cap = nc;
        }
        r = DOPT_FN(dopt__mm_line)(fp, line, (int)sizeof line);
        lineno++;
        if (r == 0) {
            snprintf(msg, sizeof msg, "read_mm: file ends after %ld of %ld entries", k, nnz);
            st = dopt_errinfo_set(info, DOPT_ERR_PARSE, -1, lineno, msg);
            goto done;
        }
        if (r < 0) {
            st = dopt_errinfo_set(info, DOPT_ERR_PARSE, -1, lineno, "read_mm: line too long");
            goto done;
        }
        if (line[0] == '%' || DOPT_FN(dopt__mm_blank)(line)) continue;
        i = strtol(line, &q, 10);
        if (q == line) goto bad_line;
        end = q;
        j = strtol(end, &q, 10);
        if (q == end) goto bad_line;
        end = q;
        if (!pattern) {
            v = strtod(end, &q);
            if (q == end) goto bad_line;
            end = q;
        }
        if (!DOPT_FN(dopt__mm_blank)(end)) goto bad_line;
        if (i < 1 || i > m || j < 1 || j > n) {
            snprintf(msg, sizeof msg, "read_mm: index (%ld, %ld) outside the %ld x %ld matrix", i, j, m, n);
            st = dopt_errinfo_set(info, DOPT_ERR_PARSE, k, lineno, msg);
            goto done;
        }
        if ((DOPT_REAL)v - (DOPT_REAL)v != 0) { /* NaN, or Inf once in DOPT_REAL */
            st = dopt_errinfo_set(info, DOPT_ERR_PARSE, k, lineno, "read_mm: the value is NaN or Inf (in this precision)");
            goto done;
        }
        Ti[k] = (int)(i - 1);
        Tj[k] = (int)(j - 1);
        Tx[k] = (DOPT_REAL)v;
        k++;
        continue;
    bad_line:
        st = dopt_errinfo_set(info, DOPT_ERR_PARSE, k, lineno,
                              pattern ? "read_mm: expected 'row col'" : "read_mm: expected 'row col value'");
        goto done;
    }
    for (;;) { /* nothing but comments and blank lines may follow the last entry */
        r = DOPT_FN(dopt__mm_line)(fp, line, (int)sizeof line);
        lineno++;
        if (r == 0) break;
        if (r < 0 || (line[0] != '%' && !DOPT_FN(dopt__mm_blank)(line))) {
            st = dopt_errinfo_set(info, DOPT_ERR_PARSE, -1, lineno, "read_mm: more entries than the size line declares");
            goto done;
        }
    }
    if (ferror(fp)) {
        st = dopt_errinfo_set(info, DOPT_ERR_IO, -1, 0, "read_mm: read error");
        goto done;
    }
    st = DOPT_FN(dopt_sparse_csc_from_triplets)(&h, (int)m, (int)n, (int)nnz, Ti, Tj, Tx, symmetric, A, info);
    if (st == DOPT_OK && !DOPT_FN(dopt_all_finite)(A->p[A->ncols], A->x)) { /* duplicates summed to Inf */
        DOPT_FN(dopt_sparse_csc_destroy)(A);
        memset(A, 0, sizeof *A);
        st = dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, -1, 0, "read_mm: duplicate entries sum to Inf");
    }
done:
    fclose(fp);
    dopt__sp_free(&h, Ti, (size_t)cap, sizeof(int));
    dopt__sp_free(&h, Tj, (size_t)cap, sizeof(int));
    dopt__sp_free(&h, Tx, (size_t)cap, sizeof(DOPT_REAL));
    return st;
}
#endif /* DOPT_NO_STDIO */

/* ---- numeric factorization ------------------------------------------------------------------- */

/* Reals of the update buffer cbuf: the largest update block, at least max_nsrow, and with the
 * built-in kernels, the packed slabs of the biggest trailing product a supernode of more than
 * DOPT__SP_NB columns may hand to dopt__sp_syrk_packed (min(KC, nscol) deep, at most nsrow
 * rows and nscol columns, each rounded up to a tile). */
static size_t DOPT_FN(dopt__sp_cbuf_size)(const dopt_sparse_symbolic *S)
{
    size_t upd = S->max_update > (size_t)S->max_nsrow ? S->max_update : (size_t)S->max_nsrow;
#ifndef DOPT_USE_CBLAS
    int s;
    for (s = 0; s < S->nsuper; ++s) {
        const size_t nscol = (size_t)(S->super[s + 1] - S->super[s]), nsrow = (size_t)(S->rowptr[s + 1] - S->rowptr[s]);
        const size_t kc = nscol < DOPT__SP_KC ? nscol : DOPT__SP_KC, pack = kc * (nsrow + DOPT__MR_MAX + nscol + DOPT__SP_NR_MAX);
        if (nscol > DOPT__SP_NB && pack > upd) upd = pack;
    }
#endif
    return upd;
}

/* Workspace of a factor object besides its values and fail_col (the part a slice has too). */
static size_t DOPT_FN(dopt__sp_work_size)(const dopt_sparse_symbolic *S)
{
    size_t r = sizeof(DOPT_REAL), i = sizeof(int), n = (size_t)S->n, ns = (size_t)S->nsuper;
    size_t upd = DOPT_FN(dopt__sp_cbuf_size)(S);
    return DOPT_WORKSPACE_ROUND((n + 1) * i) + DOPT_WORKSPACE_ROUND(((size_t)S->max_nsrow + 1) * i) +
           3 * DOPT_WORKSPACE_ROUND((ns + 1) * i) + DOPT_WORKSPACE_ROUND((upd + 1) * r) +
           DOPT_WORKSPACE_ROUND((n + 1) * DOPT_SPARSE_RHS_CHUNK * r) +
           DOPT_WORKSPACE_ROUND(((size_t)S->max_nsrow + 1) * DOPT_SPARSE_RHS_CHUNK * r);
}

static int DOPT_FN(dopt__sp_take_work)(DOPT_FN(dopt_sparse_numeric) *F, dopt_workspace *ws)
{
    const dopt_sparse_symbolic *S = F->sym;
    size_t r = sizeof(DOPT_REAL), i = sizeof(int), n = (size_t)S->n, ns = (size_t)S->nsuper;
    size_t upd = DOPT_FN(dopt__sp_cbuf_size)(S);
    F->map = (int *)dopt_workspace_take(ws, (n + 1) * i);
    F->relmap = (int *)dopt_workspace_take(ws, ((size_t)S->max_nsrow + 1) * i);
    F->head = (int *)dopt_workspace_take(ws, (ns + 1) * i);
    F->next = (int *)dopt_workspace_take(ws, (ns + 1) * i);
    F->lpos = (int *)dopt_workspace_take(ws, (ns + 1) * i);
    F->cbuf = (DOPT_REAL *)dopt_workspace_take(ws, (upd + 1) * r);
    F->xwork = (DOPT_REAL *)dopt_workspace_take(ws, (n + 1) * DOPT_SPARSE_RHS_CHUNK * r);
    F->twork = (DOPT_REAL *)dopt_workspace_take(ws, ((size_t)S->max_nsrow + 1) * DOPT_SPARSE_RHS_CHUNK * r);
    return F->twork != NULL;
}

DOPT_API size_t DOPT_FN(dopt_sparse_numeric_memory_size)(const dopt_sparse_symbolic *S, int batch)
{
    if (!S || batch < 1) return 0;
    return DOPT_WORKSPACE_ALIGN + DOPT_WORKSPACE_ROUND((size_t)batch * S->nnz_storage * sizeof(DOPT_REAL)) +
           DOPT_WORKSPACE_ROUND((size_t)batch * sizeof(int)) + DOPT_FN(dopt__sp_work_size)(S);
}

DOPT_API size_t DOPT_FN(dopt_sparse_numeric_slice_size)(const dopt_sparse_symbolic *S)
{
    return S ? DOPT_WORKSPACE_ALIGN + DOPT_FN(dopt__sp_work_size)(S) : 0;
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_numeric_init)(DOPT_FN(dopt_sparse_numeric) *F,
                                                       const dopt_sparse_symbolic *S, int batch,
                                                       void *memory, size_t bytes)
{
    dopt_workspace ws;
    int b;
    if (!F || !S || batch < 1 || !memory) return DOPT_ERR_INVALID_ARGUMENT;
    if (bytes < DOPT_FN(dopt_sparse_numeric_memory_size)(S, batch)) return DOPT_ERR_ALLOCATION;
    memset(F, 0, sizeof *F);
    dopt_workspace_init(&ws, memory, bytes);
    F->sym = S;
    F->batch = batch;
    F->base = memory;
    F->bytes = bytes;
    F->interleave_bytes = DOPT__SP_BATCH_INTERLEAVE;
    F->x = (DOPT_REAL *)dopt_workspace_take(&ws, (size_t)batch * S->nnz_storage * sizeof(DOPT_REAL));
    F->fail_col = (int *)dopt_workspace_take(&ws, (size_t)batch * sizeof(int));
    if (!DOPT_FN(dopt__sp_take_work)(F, &ws)) return DOPT_ERR_ALLOCATION;
    for (b = 0; b < batch; ++b) F->fail_col[b] = -3; /* not factored yet */
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_numeric_slice)(DOPT_FN(dopt_sparse_numeric) *slice,
                                                        DOPT_FN(dopt_sparse_numeric) *F, int first,
                                                        int count, void *memory, size_t bytes)
{
    dopt_workspace ws;
    if (!slice || !F || !F->sym || !memory || first < 0 || count < 1) return DOPT_ERR_INVALID_ARGUMENT;
    if (first > F->batch - count) return DOPT_ERR_DIMENSION;
    if (bytes < DOPT_FN(dopt_sparse_numeric_slice_size)(F->sym)) return DOPT_ERR_ALLOCATION;
    memset(slice, 0, sizeof *slice);
    dopt_workspace_init(&ws, memory, bytes);
    slice->sym = F->sym;
    slice->batch = count;
    slice->x = F->x + (size_t)first * F->sym->nnz_storage;
    slice->fail_col = F->fail_col + first;
    slice->interleave_bytes = F->interleave_bytes;
    slice->base = memory;
    slice->bytes = bytes;
    if (!DOPT_FN(dopt__sp_take_work)(slice, &ws)) return DOPT_ERR_ALLOCATION;
    return DOPT_OK;
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_numeric_create)(const dopt_sparse_symbolic *S, int batch,
                                                         DOPT_FN(dopt_sparse_numeric) **out)
{
    size_t bytes;
    void *mem;
    DOPT_FN(dopt_sparse_numeric) *F;
    dopt_status st;
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    *out = NULL;
    if (!S || batch < 1) return DOPT_ERR_INVALID_ARGUMENT;
    bytes = DOPT_FN(dopt_sparse_numeric_memory_size)(S, batch);
    F = (DOPT_FN(dopt_sparse_numeric) *)dopt_alloc(&S->hooks, sizeof *F);
    mem = dopt_alloc(&S->hooks, bytes);
    if (!F || !mem) {
        dopt_free(&S->hooks, F, sizeof *F);
        dopt_free(&S->hooks, mem, bytes);
        return DOPT_ERR_ALLOCATION;
    }
    st = DOPT_FN(dopt_sparse_numeric_init)(F, S, batch, mem, bytes);
    if (st != DOPT_OK) {
        dopt_free(&S->hooks, F, sizeof *F);
        dopt_free(&S->hooks, mem, bytes);
        return st;
    }
    F->owns = 1;
    *out = F;
    return DOPT_OK;
}

DOPT_API void DOPT_FN(dopt_sparse_numeric_destroy)(DOPT_FN(dopt_sparse_numeric) *F)
{
    const dopt_hooks *h;
    if (!F || !F->owns) return;
    h = &F->sym->hooks;
    dopt_free(h, F->base, F->bytes);
    dopt_free(h, F, sizeof *F);
}

#ifdef __cplusplus
}
#endif
#endif /* DOPT_SPARSE__PASS_IMPL (continued after the factorization kernels) */

/* =============================================================================================== */
/* The factorization kernel region: the supernodal updates, triangular tiles, supernode           */
/* factorizations and the numeric factorization's loop, one pass per kernel family (dopt.h's      */
/* family driver: DOPT__KFN names, DOPT__KTARGET on every function) inside each precision pass.   */
/* =============================================================================================== */
#if defined(DOPT__KPASS) && defined(DOPT__SP_KERNELS) && defined(DOPT_REAL)

/* Lower trapezoid of C (m x n, m >= n) = alpha A A[0:n, :]^T + beta C, A m x k: column blocks of
 * width DOPT__SP_NB, each one dopt_gemm from its diagonal down (the upper triangle of the small
 * diagonal blocks is computed too and lands in storage nobody reads). */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_syrk)(int m, int n, int k, DOPT_REAL alpha, const DOPT_REAL *A, int lda,
                                                   DOPT_REAL beta, DOPT_REAL *C, int ldc)
{
    int j0;
    for (j0 = 0; j0 < n; j0 += DOPT__SP_SYRK_NB) {
        int jb = n - j0 < DOPT__SP_SYRK_NB ? n - j0 : DOPT__SP_SYRK_NB;
        DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_TRANS, m - j0, jb, k, alpha, A + j0, lda, A + j0, lda, beta,
                           C + j0 + (size_t)j0 * ldc, ldc);
    }
}

/* Small updates, fused with the scatter: strips of 4 target columns, 8 rows at a time held in
 * registers over the ndcol-long inner product (the shape of a gemm micro-kernel), then
 * subtracted at their rows of s.  Entries above the diagonal are skipped. */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_update_small)(int ndcol, int ndrow1, int ndrow2, const DOPT_REAL *Ld, int ldd,
                                                           const int *rel, DOPT_REAL *Ls, int lds)
{
    int j0, i0, k, q, r;
    for (j0 = 0; j0 < ndrow1; j0 += 4) {
        const int nj = ndrow1 - j0 < 4 ? ndrow1 - j0 : 4;
        DOPT_REAL *col[4];
        for (q = 0; q < nj; ++q) col[q] = Ls + (size_t)rel[j0 + q] * lds;
        for (i0 = j0; i0 < ndrow2; i0 += 8) {
            const int ni = ndrow2 - i0 < 8 ? ndrow2 - i0 : 8;
            DOPT_REAL acc[4][8];
            for (q = 0; q < 4; ++q)
                for (r = 0; r < 8; ++r) acc[q][r] = 0;
            if (ni == 8 && nj == 4) {
                for (k = 0; k < ndcol; ++k) {
                    const DOPT_REAL *DOPT_RESTRICT a = Ld + (size_t)k * ldd + i0;
                    const DOPT_REAL *DOPT_RESTRICT b = Ld + (size_t)k * ldd + j0;
                    for (q = 0; q < 4; ++q)
                        for (r = 0; r < 8; ++r) acc[q][r] += a[r] * b[q];
                }
            } else {
                for (k = 0; k < ndcol; ++k) {
                    const DOPT_REAL *DOPT_RESTRICT a = Ld + (size_t)k * ldd + i0;
                    const DOPT_REAL *DOPT_RESTRICT b = Ld + (size_t)k * ldd + j0;
                    for (q = 0; q < nj; ++q)
                        for (r = 0; r < ni; ++r) acc[q][r] += a[r] * b[q];
                }
            }
            for (q = 0; q < nj; ++q)
                for (r = (i0 < j0 + q ? j0 + q - i0 : 0); r < ni; ++r) col[q][rel[i0 + r]] -= acc[q][r];
        }
    }
}

#if DOPT__VEC_EXT
#if defined(__GNUC__)
#define DOPT__SP_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define DOPT__SP_ALWAYS_INLINE
#endif
/* One tile of mv vectors of rows (mv VLEN rows, mv <= MV) by NR columns of an update (mv is a
 * constant where the wrappers below inline it), subtracted straight at its rows of s (no buffer): the sums
 * c[i, q] = sum_k a[i + k*ldd] b[q + k*ldd] stay in registers (dopt.h's gemm tile), then go to
 * column relj[q] of Ls, rows reli[i], for columns qa <= q < qb and rows i >= rlo (earlier rows
 * belong to another tile) and i >= q + jmi (entries above the diagonal are skipped; jmi is the
 * tile's first column minus its first row, both counted in d's rows).  When the tile's rows land on
 * consecutive rows of s and none is skipped, each column is one vector read-modify-write (the
 * few entries above the diagonal then land in the unused upper triangle of s's diagonal block);
 * otherwise each vector of rows that lands on consecutive rows is one read-modify-write and the
 * others are scattered entry by entry. */
DOPT__KTARGET DOPT__FMA_KERNEL static DOPT__SP_ALWAYS_INLINE void DOPT__KFN(dopt__sp_update_tile_mv)(
    int mv, int ndcol, const DOPT_REAL *DOPT_RESTRICT a, const DOPT_REAL *DOPT_RESTRICT b, int ldd, const int *reli,
    const int *relj, int rlo, int qa, int qb, int jmi, DOPT_REAL *Ls, int lds)
{
    DOPT__FMA_BODY
    DOPT__KFN(dopt__vreal) c[DOPT__MV][DOPT__NR], av[DOPT__MV], zero;
    DOPT_REAL acc[DOPT__VLEN];
    int k, i, q, run[DOPT__MV];
    memset(&zero, 0, sizeof zero);
    for (q = 0; q < DOPT__NR; ++q)
        for (i = 0; i < mv; ++i) c[i][q] = zero;
    for (k = 0; k < ndcol; ++k) {
        for (i = 0; i < mv; ++i) av[i] = DOPT__VLD(a + i * DOPT__VLEN);
        for (q = 0; q < DOPT__NR; ++q) {
            DOPT_REAL bq = b[q];
            for (i = 0; i < mv; ++i) c[i][q] += av[i] * bq;
        }
        a += ldd;
        b += ldd;
    }
    if (rlo == 0 && reli[mv * DOPT__VLEN - 1] - reli[0] == mv * DOPT__VLEN - 1) {
        for (q = qa; q < qb; ++q) {
            DOPT_REAL *dst = Ls + (size_t)relj[q] * lds + reli[0];
            for (i = 0; i < mv; ++i) {
                DOPT__KFN(dopt__vreal) t;
                t = DOPT__VLD(dst + i * DOPT__VLEN);
                t -= c[i][q];
                DOPT__VST(dst + i * DOPT__VLEN, t);
            }
        }
        return;
    }
    for (i = 0; i < mv; ++i) /* vectors whose rows are consecutive in s */
        run[i] = reli[(i + 1) * DOPT__VLEN - 1] - reli[i * DOPT__VLEN] == DOPT__VLEN - 1;
    for (q = qa; q < qb; ++q) {
        DOPT_REAL *DOPT_RESTRICT dst = Ls + (size_t)relj[q] * lds;
        const int r0 = q + jmi > rlo ? q + jmi : rlo;
        for (i = 0; i < mv; ++i) {
            int r = i * DOPT__VLEN;
            if (run[i] && r0 <= r) {
                DOPT__KFN(dopt__vreal) t;
                t = DOPT__VLD(dst + reli[r]);
                t -= c[i][q];
                DOPT__VST(dst + reli[r], t);
                continue;
            }
            DOPT__VST(acc, c[i][q]);
            for (r = r0 > r ? r0 : r; r < (i + 1) * DOPT__VLEN; ++r) dst[reli[r]] -= acc[r - i * DOPT__VLEN];
        }
    }
}

/* dopt__sp_update_tile_mv with mv (1 .. MV) made a constant. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__sp_update_tile)(int mv, int ndcol, const DOPT_REAL *a, const DOPT_REAL *b,
                                                                         int ldd, const int *reli, const int *relj, int rlo, int qa,
                                                                         int qb, int jmi, DOPT_REAL *Ls, int lds)
{
#define DOPT__SP_TILE_CASE(M)                                                                              \
    case M: DOPT__KFN(dopt__sp_update_tile_mv)(M, ndcol, a, b, ldd, reli, relj, rlo, qa, qb, jmi, Ls, lds); break;
    switch (mv) {
#if DOPT__MV >= 4
        DOPT__SP_TILE_CASE(4)
#endif
#if DOPT__MV >= 3
        DOPT__SP_TILE_CASE(3)
#endif
        DOPT__SP_TILE_CASE(2)
        DOPT__SP_TILE_CASE(1)
    default: DOPT_ASSERT(0);
    }
#undef DOPT__SP_TILE_CASE
}

/* The update of s by d (arguments of dopt__sp_update) in register tiles, each subtracted at
 * its rows of s as soon as it is summed.  Needs ndrow2 >= one vector (VLEN rows): a strip's
 * last rows take the smallest tile (1, 2 or 3 vectors) that covers them, shifted up to end at
 * row ndrow2 when it is taller than what is left (the rows it repeats are skipped when
 * storing), and a last, narrow column strip likewise reads NR columns that end at or before
 * row ndrow2.  Updates of at least DOPT__SP_FUSED_MIN rows (default: one vector, and at least NR)
 * take it. */
#ifndef DOPT__SP_FUSED_MIN /* at least one vector and one tile width (a column strip shifts back NR columns) */
#define DOPT__SP_FUSED_MIN (DOPT__VLEN > DOPT__NR ? DOPT__VLEN : DOPT__NR)
#endif
DOPT__KTARGET static void DOPT__KFN(dopt__sp_update_fused)(int ndcol, int ndrow1, int ndrow2, const DOPT_REAL *Ld, int ldd,
                                                           const int *rel, DOPT_REAL *Ls, int lds)
{
    int j0, i0;
    for (j0 = 0; j0 < ndrow1; j0 += DOPT__NR) {
        const int cols = ndrow1 - j0 < DOPT__NR ? ndrow1 - j0 : DOPT__NR;
        const int j0s = j0 + DOPT__NR <= ndrow2 ? j0 : ndrow2 - DOPT__NR;
        for (i0 = j0; i0 < ndrow2;) {
            const int rem = ndrow2 - i0, most = ndrow2 / DOPT__VLEN < DOPT__MV ? ndrow2 / DOPT__VLEN : DOPT__MV;
            const int mv = rem >= DOPT__MR ? DOPT__MV : (rem + DOPT__VLEN - 1) / DOPT__VLEN < most ? (rem + DOPT__VLEN - 1) / DOPT__VLEN : most;
            const int i0s = i0 + mv * DOPT__VLEN <= ndrow2 ? i0 : ndrow2 - mv * DOPT__VLEN;
            DOPT__KFN(dopt__sp_update_tile)(mv, ndcol, Ld + i0s, Ld + j0s, ldd, rel + i0s, rel + j0s, i0 - i0s,
                                          j0 - j0s, j0 - j0s + cols, j0s - i0s, Ls, lds);
            i0 += mv * DOPT__VLEN;
        }
    }
}
#endif

/* Update of supernode s by descendant d:  Ls[rel[i], rel[j]] -= sum_k Ld[i,k] Ld[j,k] for
 * j < ndrow1, j <= i < ndrow2.  Ld points at d's first row inside s (leading dimension ldd,
 * ndcol columns); rel[i] is that row's position in s, which for j < ndrow1 is also a column of
 * s.  With vector extensions, updates of at least DOPT__SP_FUSED_MIN rows whose sending
 * block fits the L2 cache run in register tiles straight into Ls (dopt__sp_update_fused).  Otherwise small
 * updates run inline in 8 x 4 tiles; large ones are a dense product into C (ndrow2 x ndrow1)
 * that is then scattered, or go straight into Ls when d's rows are contiguous in s. */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_update)(int ndcol, int ndrow1, int ndrow2, const DOPT_REAL *Ld, int ldd,
                                                     const int *rel, DOPT_REAL *Ls, int lds, DOPT_REAL *C)
{
    int i, j;
#if DOPT__VEC_EXT
    if (ndrow2 >= DOPT__SP_FUSED_MIN && (double)ndcol * ndrow2 <= DOPT__SP_FUSED_MAX) {
        DOPT__KFN(dopt__sp_update_fused)(ndcol, ndrow1, ndrow2, Ld, ldd, rel, Ls, lds);
        return;
    }
#endif
    if ((double)ndcol * ndrow1 * ndrow2 < DOPT__SP_SMALL_UPDATE) {
        DOPT__KFN(dopt__sp_update_small)(ndcol, ndrow1, ndrow2, Ld, ldd, rel, Ls, lds);
        return;
    }
    if (rel[ndrow2 - 1] - rel[0] == ndrow2 - 1) { /* contiguous rows: update in place */
        DOPT__KFN(dopt__sp_syrk)(ndrow2, ndrow1, ndcol, -1, Ld, ldd, 1, Ls + rel[0] + (size_t)rel[0] * lds, lds);
        return;
    }
    DOPT__KFN(dopt__sp_syrk)(ndrow2, ndrow1, ndcol, 1, Ld, ldd, 0, C, ndrow2);
    for (j = 0; j < ndrow1; ++j) {
        DOPT_REAL *DOPT_RESTRICT Lcol = Ls + (size_t)rel[j] * lds;
        const DOPT_REAL *DOPT_RESTRICT c = C + (size_t)j * ndrow2;
        for (i = j; i < ndrow2; ++i) Lcol[rel[i]] -= c[i];
    }
}

#if DOPT__VEC_EXT
/* B = B L^{-T} for the m x nb block B (leading dimension ldb) and the nb x nb lower triangular
 * L (nb <= DOPT__SP_NB), with register tiles: MR rows (dopt.h's gemm tile height) by TW = DOPT__SP_TW
 * columns of B are held in vector registers, take the product with every solved column left of
 * them (TW fused multiply-adds per loaded vector) and are then solved against their TW x TW
 * diagonal triangle in registers.  L's rows are packed once, TW at a time, k-major, zero-padded:
 * block q0 holds Lp[k*TW + q] = L[q0+q, k] for k < q0 + TW, and dinv[j] = 1 / L[j, j].  Rows
 * of B past the last full tile are solved in a zero-padded copy. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__sp_trsm_tile)(int q0, int cols, const DOPT_REAL *DOPT_RESTRICT Lp,
                                                                       const DOPT_REAL *DOPT_RESTRICT dinv, DOPT_REAL *B, int ldb)
{
    DOPT__FMA_BODY
    DOPT__KFN(dopt__vreal) c[DOPT__MV][DOPT__SP_TW], bk[DOPT__MV], zero;
    int k, i, q, r;
    memset(&zero, 0, sizeof zero);
    for (q = 0; q < DOPT__SP_TW; ++q)
        for (i = 0; i < DOPT__MV; ++i) c[i][q] = zero;
    for (q = 0; q < cols; ++q)
        for (i = 0; i < DOPT__MV; ++i) c[i][q] = DOPT__VLD(B + (size_t)(q0 + q) * ldb + i * DOPT__VLEN);
    for (k = 0; k < q0; ++k) { /* c -= B[:, k] L[q0:q0+TW, k]^T */
        const DOPT_REAL *DOPT_RESTRICT l = Lp + (size_t)k * DOPT__SP_TW;
        for (i = 0; i < DOPT__MV; ++i) bk[i] = DOPT__VLD(B + (size_t)k * ldb + i * DOPT__VLEN);
        for (q = 0; q < DOPT__SP_TW; ++q) {
            DOPT_REAL lq = l[q];
            for (i = 0; i < DOPT__MV; ++i) c[i][q] -= bk[i] * lq;
        }
    }
    for (r = 0; r < DOPT__SP_TW; ++r) { /* the diagonal triangle: column r is final, then eliminated below */
        const DOPT_REAL *DOPT_RESTRICT l = Lp + (size_t)(q0 + r) * DOPT__SP_TW;
        DOPT_REAL d = dinv[q0 + r];
        for (i = 0; i < DOPT__MV; ++i) c[i][r] *= d;
        for (q = r + 1; q < DOPT__SP_TW; ++q) {
            DOPT_REAL lq = l[q];
            for (i = 0; i < DOPT__MV; ++i) c[i][q] -= c[i][r] * lq;
        }
    }
    for (q = 0; q < cols; ++q)
        for (i = 0; i < DOPT__MV; ++i) DOPT__VST(B + (size_t)(q0 + q) * ldb + i * DOPT__VLEN, c[i][q]);
}

DOPT__KTARGET static void DOPT__KFN(dopt__sp_trsm)(int m, int nb, const DOPT_REAL *L, int ldl, DOPT_REAL *B, int ldb)
{
    enum { TW = DOPT__SP_TW, NBP = (DOPT__SP_NB + TW - 1) / TW * TW };
    DOPT_REAL Lp[NBP * (NBP + TW) / 2], dinv[NBP], tmp[DOPT__MR * NBP];
    size_t off[NBP / TW];
    int q0, q, k, i0, i, mfull = m - m % DOPT__MR;
    DOPT_ASSERT(nb <= DOPT__SP_NB);
    for (q0 = 0; q0 < nb; q0 += TW) { /* pack L: block q0 holds rows q0..q0+TW-1, columns 0..q0+TW-1 */
        DOPT_REAL *lp = Lp + (size_t)TW * q0 * (q0 / TW + 1) / 2;
        off[q0 / TW] = (size_t)(lp - Lp);
        for (k = 0; k < q0 + TW; ++k)
            for (q = 0; q < DOPT__SP_TW; ++q)
                lp[(size_t)k * DOPT__SP_TW + q] = (q0 + q < nb && k < nb && k < q0 + q) ? L[q0 + q + (size_t)k * ldl] : 0;
    }
    for (q = 0; q < (nb + TW - 1) / TW * TW; ++q) dinv[q] = q < nb ? 1 / L[q + (size_t)q * ldl] : 0;
    for (i0 = 0; i0 < mfull; i0 += DOPT__MR)
        for (q0 = 0; q0 < nb; q0 += TW)
            DOPT__KFN(dopt__sp_trsm_tile)(q0, nb - q0 < TW ? nb - q0 : TW, Lp + off[q0 / TW], dinv, B + i0, ldb);
    if (mfull < m) {
        int rows = m - mfull;
        for (q = 0; q < nb; ++q)
            for (i = 0; i < DOPT__MR; ++i) tmp[i + q * DOPT__MR] = i < rows ? B[mfull + i + (size_t)q * ldb] : 0;
        for (q0 = 0; q0 < nb; q0 += TW)
            DOPT__KFN(dopt__sp_trsm_tile)(q0, nb - q0 < TW ? nb - q0 : TW, Lp + off[q0 / TW], dinv, tmp, DOPT__MR);
        for (q = 0; q < nb; ++q)
            for (i = 0; i < rows; ++i) B[mfull + i + (size_t)q * ldb] = tmp[i + q * DOPT__MR];
    }
}
#else
/* B = B L^{-T} for the m x nb block B (leading dimension ldb) and the nb x nb lower triangular
 * L, column by column, in row chunks that stay in cache. */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_trsm)(int m, int nb, const DOPT_REAL *L, int ldl, DOPT_REAL *B, int ldb)
{
    int i0, i, j, k;
    for (i0 = 0; i0 < m; i0 += 256) {
        int mb = m - i0 < 256 ? m - i0 : 256;
        for (j = 0; j < nb; ++j) { /* b_j = (b_j - sum_{k<j} b_k L[j,k]) / L[j,j] */
            DOPT_REAL *DOPT_RESTRICT bj = B + i0 + (size_t)j * ldb, d;
            for (k = 0; k < j; ++k) {
                const DOPT_REAL *DOPT_RESTRICT bk = B + i0 + (size_t)k * ldb;
                DOPT_REAL l = L[j + (size_t)k * ldl];
                for (i = 0; i < mb; ++i) bj[i] -= bk[i] * l;
            }
            d = 1 / L[j + (size_t)j * ldl];
            for (i = 0; i < mb; ++i) bj[i] *= d;
        }
    }
}
#endif

/* Narrow supernodes (at most DOPT__SP_NARROW columns, the common case of small block problems):
 * potrf and trsm in one left-looking pass over whole columns (each column sums the update of
 * the columns left of it in registers, 16 or 8 rows at a time, then is scaled by its pivot),
 * which vectorizes down the rows with no packing, padding or call layers.  Pivot checks as in
 * dopt_potrf. */
DOPT__KTARGET static dopt_status DOPT__KFN(dopt__sp_factor_narrow)(int nscol, int nsrow, DOPT_REAL *Ls, int ld, int *fail)
{
    int j, q, i;
    for (q = 0; q < nscol; ++q) { /* left-looking: column q takes its update in registers, 16 or 8 rows at a time */
        DOPT_REAL *DOPT_RESTRICT cq = Ls + (size_t)q * ld, d, dinv;
        int i0, l;
        if (q > 0) {
            for (i0 = q; i0 + 16 <= nsrow; i0 += 16) {
                DOPT_REAL acc[16];
                for (l = 0; l < 16; ++l) acc[l] = cq[i0 + l];
                for (j = 0; j < q; ++j) {
                    const DOPT_REAL *DOPT_RESTRICT cj = Ls + (size_t)j * ld;
                    const DOPT_REAL f = cj[q];
                    for (l = 0; l < 16; ++l) acc[l] -= cj[i0 + l] * f;
                }
                for (l = 0; l < 16; ++l) cq[i0 + l] = acc[l];
            }
            for (; i0 + 8 <= nsrow; i0 += 8) {
                DOPT_REAL acc[8];
                for (l = 0; l < 8; ++l) acc[l] = cq[i0 + l];
                for (j = 0; j < q; ++j) {
                    const DOPT_REAL *DOPT_RESTRICT cj = Ls + (size_t)j * ld;
                    const DOPT_REAL f = cj[q];
                    for (l = 0; l < 8; ++l) acc[l] -= cj[i0 + l] * f;
                }
                for (l = 0; l < 8; ++l) cq[i0 + l] = acc[l];
            }
            for (i = i0; i < nsrow; ++i) {
                DOPT_REAL acc = cq[i];
                for (j = 0; j < q; ++j) acc -= Ls[i + (size_t)j * ld] * Ls[q + (size_t)j * ld];
                cq[i] = acc;
            }
        }
        d = cq[q];
        if (!(d > 0) || d - d != 0) {
            *fail = q;
            return (d != d || d - d != 0) ? DOPT_ERR_NON_FINITE : DOPT_ERR_NOT_POSITIVE_DEFINITE;
        }
        dinv = 1 / d; /* 1/sqrt(d) = sqrt(d) / d: the division and the square root overlap */
        d = DOPT_M(sqrt)(d);
        dinv *= d;
        cq[q] = d;
        for (i = q + 1; i < nsrow; ++i) cq[i] *= dinv;
    }
    return DOPT_OK;
}

/* Cholesky of a panel's kb x kb diagonal block D (leading dimension ld, kb <= DOPT__SP_NB) in
 * strips of DOPT__SP_NARROW columns: each strip takes the update of the columns left of it
 * (dopt__sp_update_small, identity row map) and is then factored by dopt__sp_factor_narrow.
 * *fail is the failing column within D. */
DOPT__KTARGET static dopt_status DOPT__KFN(dopt__sp_potrf_panel)(int kb, DOPT_REAL *D, int ld, const int *ident, int *fail)
{
    int q0;
    for (q0 = 0; q0 < kb; q0 += DOPT__SP_NARROW) {
        const int nc = kb - q0 < DOPT__SP_NARROW ? kb - q0 : DOPT__SP_NARROW;
        DOPT_REAL *P = D + q0 + (size_t)q0 * ld;
        dopt_status st;
        if (q0 > 0) DOPT__KFN(dopt__sp_update_small)(q0, nc, kb - q0, D + q0, ld, ident, P, ld);
        st = DOPT__KFN(dopt__sp_factor_narrow)(nc, kb - q0, P, ld, fail);
        if (st != DOPT_OK) {
            *fail += q0;
            return st;
        }
    }
    return DOPT_OK;
}

/* Pack rows i0 .. i0+rows-1 (rows <= R), columns 0 .. kc-1 of P (leading dimension ldp) k-major
 * into buf: buf[p*R + i] = P[i0 + i, p], zero past `rows`.  R = MR gives a row sliver of the
 * packed product, R = DOPT__SP_NR a column sliver (P's rows are the product's columns). */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_pack)(int R, int rows, int kc, const DOPT_REAL *P, int ldp, DOPT_REAL *DOPT_RESTRICT buf)
{
    int p, i;
    if (rows == DOPT__MR && R == DOPT__MR) {
        for (p = 0; p < kc; ++p) memcpy(buf + (size_t)p * DOPT__MR, P + (size_t)p * ldp, DOPT__MR * sizeof(DOPT_REAL));
        return;
    }
    if (rows == DOPT__SP_NR && R == DOPT__SP_NR) {
        for (p = 0; p < kc; ++p)
            memcpy(buf + (size_t)p * DOPT__SP_NR, P + (size_t)p * ldp, DOPT__SP_NR * sizeof(DOPT_REAL));
        return;
    }
    for (p = 0; p < kc; ++p) {
        for (i = 0; i < rows; ++i) buf[(size_t)p * R + i] = P[i + (size_t)p * ldp];
        for (; i < R; ++i) buf[(size_t)p * R + i] = 0;
    }
}

#if DOPT__VEC_EXT
/* C[0:rows, 0:cols] -= a b^T for a packed MR-row sliver a and DOPT__SP_NR-column sliver b, kc
 * deep (k-major, as dopt__sp_pack lays them out): MV x 8 vector accumulators.  The tile of C is
 * prefetched while the sums run. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__sp_syrk_micro)(int kc, const DOPT_REAL *DOPT_RESTRICT a,
                                                                        const DOPT_REAL *DOPT_RESTRICT b, DOPT_REAL *C, int ldc,
                                                                        int rows, int cols)
{
    DOPT__FMA_BODY
    DOPT__KFN(dopt__vreal) c[DOPT__MV][DOPT__SP_NR], av[DOPT__MV];
    DOPT_REAL acc[DOPT__MR * DOPT__SP_NR];
    int p, i, j;
    memset(c, 0, sizeof c);
    for (j = 0; j < cols; ++j) {
        __builtin_prefetch(C + (size_t)j * ldc, 1);
        __builtin_prefetch(C + (size_t)j * ldc + DOPT__MR - 1, 1);
    }
    for (p = 0; p < kc; ++p) {
        for (i = 0; i < DOPT__MV; ++i) av[i] = DOPT__VLD(a + i * DOPT__VLEN);
        for (j = 0; j < DOPT__SP_NR; ++j) {
            DOPT_REAL bj = b[j];
            for (i = 0; i < DOPT__MV; ++i) c[i][j] += av[i] * bj;
        }
        a += DOPT__MR;
        b += DOPT__SP_NR;
    }
    if (rows == DOPT__MR) {
        for (j = 0; j < cols; ++j)
            for (i = 0; i < DOPT__MV; ++i) {
                DOPT__KFN(dopt__vreal) t;
                DOPT_REAL *dst = C + (size_t)j * ldc + i * DOPT__VLEN;
                t = DOPT__VLD(dst);
                t -= c[i][j];
                DOPT__VST(dst, t);
            }
        return;
    }
    for (j = 0; j < DOPT__SP_NR; ++j)
        for (i = 0; i < DOPT__MV; ++i) DOPT__VST(acc + j * DOPT__MR + i * DOPT__VLEN, c[i][j]);
    for (j = 0; j < cols; ++j)
        for (i = 0; i < rows; ++i) C[i + (size_t)j * ldc] -= acc[i + j * DOPT__MR];
}
#else
/* Without vector extensions: dopt.h's portable gemm tile. */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_syrk_micro)(int kc, const DOPT_REAL *a, const DOPT_REAL *b, DOPT_REAL *C, int ldc,
                                                         int rows, int cols)
{
    DOPT__KFN(dopt__gemm_micro)(kc, -1, a, DOPT__MR, b, DOPT__SP_NR, 1, C, ldc, rows, cols, -DOPT__BAND_ALL,
                              DOPT__BAND_ALL);
}
#endif

/* Lower trapezoid of C -= P P[0:nc, :]^T for the m x k block P (leading dimension ldp, m >= nc)
 * and the m x nc block C (leading dimension ldc): entries C[i, j] with j < nc, j <= i < m.  Each
 * KC-deep slab of P is packed once (dopt__sp_pack), its m rows into MR-row slivers and its first
 * nc rows into DOPT__SP_NR-column slivers, in work (KC * (m + MR + nc + DOPT__SP_NR) reals);
 * then for each block of about MC rows (it stays in the L2 cache) every column sliver left of
 * the block's last row passes over the block's row slivers.  Tiles that cross the diagonal are
 * computed whole: their entries above it land in the unused upper triangle of the supernode's
 * diagonal block. */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_syrk_packed)(int m, int nc, int k, const DOPT_REAL *P, int ldp, DOPT_REAL *C,
                                                          int ldc, DOPT_REAL *work)
{
    enum { MC = DOPT__SP_MC > DOPT__MR ? DOPT__SP_MC / DOPT__MR * DOPT__MR : DOPT__MR };
    const size_t mp = (size_t)(m + DOPT__MR - 1) / DOPT__MR * DOPT__MR;
    int pc, ic, jr, ir;
    for (pc = 0; pc < k; pc += DOPT__SP_KC) {
        const int kc = k - pc < DOPT__SP_KC ? k - pc : DOPT__SP_KC;
        DOPT_REAL *ap = work, *bp = work + mp * (size_t)kc;
        const DOPT_REAL *slab = P + (size_t)pc * ldp;
        for (ir = 0; ir < m; ir += DOPT__MR)
            DOPT__KFN(dopt__sp_pack)(DOPT__MR, m - ir < DOPT__MR ? m - ir : DOPT__MR, kc, slab + ir, ldp,
                                   ap + (size_t)ir * kc);
        for (jr = 0; jr < nc; jr += DOPT__SP_NR)
            DOPT__KFN(dopt__sp_pack)(DOPT__SP_NR, nc - jr < DOPT__SP_NR ? nc - jr : DOPT__SP_NR, kc, slab + jr, ldp,
                                   bp + (size_t)jr * kc);
        for (ic = 0; ic < m; ic += MC) {
            const int iend = m - ic < MC ? m : ic + MC;
            for (jr = 0; jr < nc && jr < iend; jr += DOPT__SP_NR) {
                const int cols = nc - jr < DOPT__SP_NR ? nc - jr : DOPT__SP_NR;
                for (ir = ic; ir < iend; ir += DOPT__MR) {
                    const int rows = iend - ir < DOPT__MR ? iend - ir : DOPT__MR;
                    if (ir + rows <= jr) continue; /* the tile lies above the diagonal */
                    DOPT__KFN(dopt__sp_syrk_micro)(kc, ap + (size_t)ir * kc, bp + (size_t)jr * kc,
                                                 C + ir + (size_t)jr * ldc, ldc, rows, cols);
                }
            }
        }
    }
}

/* Left-looking Cholesky of the m x w panel A (leading dimension ld, m >= w) whose updates
 * are in, over column panels of width DOPT__SP_NB: each panel takes the update of every column
 * left of it in one deep trapezoid product (register tiles straight from L while the sending
 * block fits the L2 cache, else dopt__sp_syrk_packed when work is given, else dopt__sp_syrk),
 * then potrf of its diagonal block in narrow strips and the inline trsm of the rows below.
 * *fail is the failing column within the panel. */
DOPT__KTARGET static dopt_status DOPT__KFN(dopt__sp_factor_panels)(int w, int m, DOPT_REAL *A, int ld, const int *ident,
                                                                   DOPT_REAL *work, int *fail)
{
    int k0;
    for (k0 = 0; k0 < w; k0 += DOPT__SP_NB) {
        int kb = w - k0 < DOPT__SP_NB ? w - k0 : DOPT__SP_NB, r0 = k0 + kb, fc = -1;
        DOPT_REAL *D = A + k0 + (size_t)k0 * ld;
        dopt_status st;
#if DOPT__VEC_EXT
        if (k0 > 0 && m - k0 >= DOPT__MR && (double)k0 * (m - k0) <= DOPT__SP_FUSED_MAX)
            DOPT__KFN(dopt__sp_update_fused)(k0, kb, m - k0, A + k0, ld, ident, D, ld);
        else
#endif
        if (k0 > 0 && work)
            DOPT__KFN(dopt__sp_syrk_packed)(m - k0, kb, k0, A + k0, ld, D, ld, work);
        else if (k0 > 0)
            DOPT__KFN(dopt__sp_syrk)(m - k0, kb, k0, -1, A + k0, ld, 1, D, ld);
        st = DOPT__KFN(dopt__sp_potrf_panel)(kb, D, ld, ident, &fc);
        if (st != DOPT_OK) {
            *fail = k0 + fc;
            return st;
        }
        if (r0 < m) DOPT__KFN(dopt__sp_trsm)(m - r0, kb, D, ld, D + kb, ld);
    }
    return DOPT_OK;
}

#ifndef DOPT_USE_CBLAS
/* Cholesky of the m x w panel A (leading dimension ld, m >= w) whose updates are in:
 * A11 = L11 L11^T and A21 = L21 L11^{-T} in place, by recursive halving: factor the left
 * columns (all m rows), subtract their product from the right columns in one packed trapezoid
 * update (dopt__sp_syrk_packed, inner dimension = the left width), factor the right columns.
 * Parts of at most DOPT__SP_LEAF columns are the leaves, factored left-looking
 * (dopt__sp_factor_panels, whose register-tile products are fastest there).  Splits fall near
 * the middle on multiples of DOPT__SP_NB (of 8 below 2 DOPT__SP_NB).  work: see
 * dopt__sp_syrk_packed.  *fail is the failing column within the panel. */
DOPT__KTARGET static dopt_status DOPT__KFN(dopt__sp_factor_rec)(int w, int m, DOPT_REAL *A, int ld, const int *ident,
                                                                DOPT_REAL *work, int *fail)
{
    int w1;
    dopt_status st;
    if (w <= DOPT__SP_LEAF) return DOPT__KFN(dopt__sp_factor_panels)(w, m, A, ld, ident, work, fail);
    w1 = w <= 2 * DOPT__SP_NB ? (w / 2 + 7) / 8 * 8 : (w / 2 + DOPT__SP_NB / 2) / DOPT__SP_NB * DOPT__SP_NB;
    st = DOPT__KFN(dopt__sp_factor_rec)(w1, m, A, ld, ident, work, fail);
    if (st != DOPT_OK) return st;
    DOPT__KFN(dopt__sp_syrk_packed)(m - w1, w - w1, w1, A + w1, ld, A + w1 + (size_t)w1 * ld, ld, work);
    st = DOPT__KFN(dopt__sp_factor_rec)(w - w1, m - w1, A + w1 + (size_t)w1 * ld, ld, ident, work, fail);
    if (st != DOPT_OK) *fail += w1;
    return st;
}
#endif

/* Factor supernode s in place once its updates are in (the nsrow x nscol block, leading
 * dimension nsrow): L11 = chol(A11), L21 = A21 L11^{-T}.  Built-in kernels: left-looking over
 * column panels of width DOPT__SP_NB (dopt__sp_factor_panels; deep products run nearer dgemm
 * speed than many thin rank-64 updates), and from DOPT__SP_BIG columns recursive halving
 * (dopt__sp_factor_rec) whose big trailing products are packed once each.  work: the packing
 * space of dopt__sp_syrk_packed (cbuf).  With DOPT_USE_CBLAS, supernodes bigger than
 * DOPT__SP_LAPACK_MIN entries (all of them without the register tiles) take one LAPACK potrf
 * and one BLAS trsm, as OpenBLAS blocks those better, and the others' big products go to
 * OpenBLAS.  Narrow supernodes (at most DOPT__SP_NARROW columns) take dopt__sp_factor_narrow. */
DOPT__KTARGET static dopt_status DOPT__KFN(dopt__sp_factor_super)(int nscol, int nsrow, DOPT_REAL *Ls, const int *ident,
                                                                  DOPT_REAL *work, int *fail)
{
    if (nscol <= DOPT__SP_NARROW) return DOPT__KFN(dopt__sp_factor_narrow)(nscol, nsrow, Ls, nsrow, fail);
#ifdef DOPT_USE_CBLAS /* big supernodes: LAPACK potrf and one BLAS trsm beat panels of separate calls */
    if (!DOPT__VEC_EXT || (double)nscol * nsrow > DOPT__SP_LAPACK_MIN) {
        dopt_status st = DOPT_FN(dopt_potrf)(nscol, Ls, nsrow, fail);
        if (st == DOPT_OK && nsrow > nscol)
            DOPT_FN(dopt_trsm)(DOPT_RIGHT, DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, nsrow - nscol, nscol, 1, Ls, nsrow,
                               Ls + nscol, nsrow);
        return st;
    }
    work = NULL; /* the panels' big products go to OpenBLAS through dopt_gemm */
#else
    if (nscol >= DOPT__SP_BIG) return DOPT__KFN(dopt__sp_factor_rec)(nscol, nsrow, Ls, nsrow, ident, work, fail);
#endif
    return DOPT__KFN(dopt__sp_factor_panels)(nscol, nsrow, Ls, nsrow, ident, work, fail);
}

/* Assemble one supernode: L[q] for q in [lo, hi) gets the sum of A's values that land there
 * (cnt entries: destination dst[e], value ax[ent[e]], or ax[vent[e]] when vent is given) and 0
 * elsewhere.  The destinations increase (dopt__sp_entry_map sorts them; a repeated one is a
 * duplicate of A, summed), so the zeros and the values go down the columns in one pass and each
 * real is written once: no memset of the whole block before a scatter (on a dense 1002-column
 * supernode, that memset and the scatter's read-modify-writes took 13% of the factorization). */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_assemble)(DOPT_REAL *DOPT_RESTRICT L, size_t lo, size_t hi,
                                                       const size_t *DOPT_RESTRICT dst, const int *DOPT_RESTRICT ent,
                                                       const size_t *DOPT_RESTRICT vent, int cnt,
                                                       const DOPT_REAL *DOPT_RESTRICT ax)
{
    size_t q = lo;
    int e;
    for (e = 0; e < cnt; ++e) {
        const size_t d = dst[e];
        const DOPT_REAL v = vent ? ax[vent[e]] : ax[ent[e]];
        if (d < q) { /* a duplicate entry of A */
            L[d] += v;
            continue;
        }
        if (d > q) memset(L + q, 0, (d - q) * sizeof(DOPT_REAL));
        L[d] = v;
        q = d + 1;
    }
    if (hi > q) memset(L + q, 0, (hi - q) * sizeof(DOPT_REAL));
}

/* Left-looking supernodal factorization of elements 0..count-1 (see the file overview).
 * head[s] lists the descendants d whose next update goes to s; lpos[d] is d's first row not
 * yet used.  The index work (map, rel, lists) is done once for all elements.
 * vent (NULL: entry p of A is Ax[p]): the value of A's entry aent[q] is Ax[vent[q]] instead, so
 * a caller whose values sit in another layout (the least-squares layer's blocks) hands them over
 * without a copy; dadd (NULL or n reals, ORIGINAL numbering) is then added to the diagonal.
 * With vent the caller has checked that its values and dadd are finite. */
DOPT__KTARGET static dopt_status DOPT__KFN(dopt__sp_numeric_map)(DOPT_FN(dopt_sparse_numeric) *F, int count, const DOPT_REAL *Ax,
                                                                 ptrdiff_t strideAx, const size_t *vent, const DOPT_REAL *dadd,
                                                                 dopt_errinfo *info)
{
    const dopt_sparse_symbolic *S = F->sym;
    const size_t nz = S->nnz_storage;
    const int *super = S->super, *rowptr = S->rowptr, *rowind = S->rowind;
    const size_t *valptr = S->valptr;
    int *map = F->map, *rel = F->relmap, *head = F->head, *next = F->next, *lpos = F->lpos;
    int s, b, p, alive = 0;
    dopt_status first = DOPT_OK;
    for (b = 0; b < count; ++b) {
        const DOPT_REAL *ax = Ax + (ptrdiff_t)b * strideAx;
        int bad = 0;
        F->fail_col[b] = -1;
        if (!vent) /* (with vent the caller has scanned its values and dadd) */
            for (p = 0; p < S->nnz_a; ++p) bad |= ax[p] - ax[p] != 0; /* NaN or Inf (a vectorizable scan) */
        if (!bad) {
            alive++;
            continue;
        }
        for (p = 0; p < S->nnz_a; ++p)
            if (ax[p] - ax[p] != 0) break;
        F->fail_col[b] = -2;
        if (first == DOPT_OK)
            first = dopt_errinfo_set(info, DOPT_ERR_NON_FINITE, p, 0,
                                     "sparse_factor: NaN or Inf in the values (index = entry)");
    }
    if (!alive) return first;
    for (s = 0; s < S->nsuper; ++s) head[s] = -1;
    for (s = 0; s < S->nsuper; ++s) {
        const int k1 = super[s], k2 = super[s + 1], nscol = k2 - k1;
        const int nsrow = rowptr[s + 1] - rowptr[s];
        const int *rows = rowind + rowptr[s];
        int i, d = head[s];
        for (b = 0; b < count; ++b) { /* zero s and add A's entries (they land in s's columns) */
            const DOPT_REAL *ax = Ax + (ptrdiff_t)b * strideAx;
            DOPT_REAL *Ls = F->x + (size_t)b * nz + valptr[s];
            const size_t *DOPT_RESTRICT adst = S->adst;
            const int *DOPT_RESTRICT aent = S->aent;
            if (F->fail_col[b] != -1) continue;
            DOPT__KFN(dopt__sp_assemble)(Ls - valptr[s], valptr[s], valptr[s] + (size_t)nsrow * (size_t)nscol,
                                         adst + S->aptr[s], vent ? NULL : aent + S->aptr[s],
                                         vent ? vent + S->aptr[s] : NULL, S->aptr[s + 1] - S->aptr[s], ax);
            for (i = 0; vent && dadd && i < nscol; ++i) Ls[(size_t)i * (nsrow + 1)] += dadd[S->perm[k1 + i]];
        }
        for (i = 0; i < nsrow; ++i) map[rows[i]] = i;
        while (d != -1) {
            const int dnext = next[d], ndcol = super[d + 1] - super[d];
            const int ndrow = rowptr[d + 1] - rowptr[d], *drows = rowind + rowptr[d];
            const int p1 = lpos[d];
            int p2 = p1, ndrow1, ndrow2;
            while (p2 < ndrow && drows[p2] < k2) p2++;
            ndrow1 = p2 - p1;
            ndrow2 = ndrow - p1;
            for (i = 0; i < ndrow2; ++i) rel[i] = map[drows[p1 + i]];
            for (b = 0; b < count; ++b) {
                DOPT_REAL *Lx = F->x + (size_t)b * nz;
                if (F->fail_col[b] != -1) continue;
                DOPT__KFN(dopt__sp_update)(ndcol, ndrow1, ndrow2, Lx + valptr[d] + p1, ndrow, rel,
                                         Lx + valptr[s], nsrow, F->cbuf);
            }
            dopt__sp_link_next(S, head, next, lpos, d, p2); /* d's next target */
            d = dnext;
        }
        for (i = 0; i < nsrow; ++i) rel[i] = i; /* identity row map for the panels of s */
        for (b = 0; b < count; ++b) {
            int fc = -1;
            dopt_status st;
            if (F->fail_col[b] != -1) continue;
            st = DOPT__KFN(dopt__sp_factor_super)(nscol, nsrow, F->x + (size_t)b * nz + valptr[s], rel, F->cbuf,
                                                &fc);
            if (st != DOPT_OK) {
                F->fail_col[b] = S->perm[k1 + fc];
                if (first == DOPT_OK)
                    first = dopt_errinfo_set(info, st, F->fail_col[b], 0,
                                             st == DOPT_ERR_NON_FINITE
                                                 ? "sparse_factor: non-finite pivot (index = original column)"
                                                 : "sparse_factor: matrix not positive definite (index = original column)");
            }
        }
        dopt__sp_link_next(S, head, next, lpos, s, nscol);
    }
    return first;
}

#endif /* DOPT__SP_KERNELS */

#if defined(DOPT_SPARSE__PASS_IMPL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
#ifdef __cplusplus
extern "C" {
#endif

/* the factorization kernels of every family this build holds (the region above) */
#define DOPT__SP_KERNELS
#define DOPT__KDRIVE "dopt_sparse.h"
#include "dopt.h"
#undef DOPT__KDRIVE
#undef DOPT__SP_KERNELS

/* The numeric factorization of elements 0..count-1 (dopt__sp_numeric_map in the region above) in
 * the kernel family the CPU runs. */
static dopt_status DOPT_FN(dopt__sp_numeric_map)(DOPT_FN(dopt_sparse_numeric) *F, int count, const DOPT_REAL *Ax,
                                                 ptrdiff_t strideAx, const size_t *vent, const DOPT_REAL *dadd,
                                                 dopt_errinfo *info)
{
    return DOPT__KSEL(DOPT_FN(dopt__sp_numeric_map))(F, count, Ax, strideAx, vent, dadd, info);
}

static dopt_status DOPT_FN(dopt__sp_numeric)(DOPT_FN(dopt_sparse_numeric) *F, int count,
                                             const DOPT_REAL *Ax, ptrdiff_t strideAx, dopt_errinfo *info)
{
    return DOPT_FN(dopt__sp_numeric_map)(F, count, Ax, strideAx, NULL, NULL, info);
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_factor)(DOPT_FN(dopt_sparse_numeric) *F, const DOPT_REAL *Ax,
                                                 dopt_errinfo *info)
{
    if (!F || !F->sym || (!Ax && F->sym->nnz_a > 0))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "sparse_factor: bad argument");
    return DOPT_FN(dopt__sp_numeric)(F, 1, Ax, 0, info);
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_factor_batch)(DOPT_FN(dopt_sparse_numeric) *F, int count,
                                                       const DOPT_REAL *Ax, ptrdiff_t strideAx,
                                                       dopt_errinfo *info)
{
    if (!F || !F->sym || count < 0 || (!Ax && F->sym->nnz_a > 0 && count > 0))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "sparse_factor_batch: bad argument");
    if (count > F->batch)
        return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, count, 0, "sparse_factor_batch: count exceeds the batch size");
    if (count == 0) return DOPT_OK;
    if (count == 1 || (double)F->sym->nnz_storage * sizeof(DOPT_REAL) * count <= (double)F->interleave_bytes)
        return DOPT_FN(dopt__sp_numeric)(F, count, Ax, strideAx, info);
    {   /* the batch does not fit in cache: one element after the other keeps each one's
         * supernodes cache-resident (F->x, fail_col are indexed by element) */
        DOPT_FN(dopt_sparse_numeric) one = *F;
        dopt_status first = DOPT_OK;
        int b;
        for (b = 0; b < count; ++b) {
            dopt_status st;
            one.x = F->x + (size_t)b * F->sym->nnz_storage;
            one.fail_col = F->fail_col + b;
            st = DOPT_FN(dopt__sp_numeric)(&one, 1, Ax + (ptrdiff_t)b * strideAx, 0, first == DOPT_OK ? info : NULL);
            if (first == DOPT_OK) first = st;
        }
        return first;
    }
}

/* ---- solves ----------------------------------------------------------------------------------- */

/* out[j] -= sum_i B[i + j ldb] t[i] (i < m) for the nc columns j of B: four columns at a time,
 * each sum kept in 8 partial sums so that its additions do not wait on one another (a solve's
 * dot products are otherwise one long chain of dependent additions). */
static void DOPT_FN(dopt__sp_sub_dots)(int m, int nc, const DOPT_REAL *B, int ldb, const DOPT_REAL *t,
                                       DOPT_REAL *out)
{
    int j = 0, i, l;
    for (; j + 4 <= nc; j += 4) {
        const DOPT_REAL *DOPT_RESTRICT c0 = B + (size_t)j * ldb, *DOPT_RESTRICT c1 = c0 + ldb;
        const DOPT_REAL *DOPT_RESTRICT c2 = c1 + ldb, *DOPT_RESTRICT c3 = c2 + ldb;
        DOPT_REAL a0[8] = {0}, a1[8] = {0}, a2[8] = {0}, a3[8] = {0};
        for (i = 0; i + 8 <= m; i += 8)
            for (l = 0; l < 8; ++l) {
                a0[l] += c0[i + l] * t[i + l];
                a1[l] += c1[i + l] * t[i + l];
                a2[l] += c2[i + l] * t[i + l];
                a3[l] += c3[i + l] * t[i + l];
            }
        for (l = 0; i < m; ++i, ++l) {
            a0[l] += c0[i] * t[i];
            a1[l] += c1[i] * t[i];
            a2[l] += c2[i] * t[i];
            a3[l] += c3[i] * t[i];
        }
        out[j] -= ((a0[0] + a0[1]) + (a0[2] + a0[3])) + ((a0[4] + a0[5]) + (a0[6] + a0[7]));
        out[j + 1] -= ((a1[0] + a1[1]) + (a1[2] + a1[3])) + ((a1[4] + a1[5]) + (a1[6] + a1[7]));
        out[j + 2] -= ((a2[0] + a2[1]) + (a2[2] + a2[3])) + ((a2[4] + a2[5]) + (a2[6] + a2[7]));
        out[j + 3] -= ((a3[0] + a3[1]) + (a3[2] + a3[3])) + ((a3[4] + a3[5]) + (a3[6] + a3[7]));
    }
    for (; j < nc; ++j) {
        const DOPT_REAL *DOPT_RESTRICT c0 = B + (size_t)j * ldb;
        DOPT_REAL a0[8] = {0};
        for (i = 0; i + 8 <= m; i += 8)
            for (l = 0; l < 8; ++l) a0[l] += c0[i + l] * t[i + l];
        for (l = 0; i < m; ++i, ++l) a0[l] += c0[i] * t[i];
        out[j] -= ((a0[0] + a0[1]) + (a0[2] + a0[3])) + ((a0[4] + a0[5]) + (a0[6] + a0[7]));
    }
}

/* y[i] -= sum_j B[i + j ldb] x[j] (j < nc <= 8) for the m rows i of B: each y entry loaded
 * and stored once per block of columns. */
static void DOPT_FN(dopt__sp_sub_gemv)(int m, int nc, const DOPT_REAL *B, int ldb, const DOPT_REAL *x,
                                       DOPT_REAL *DOPT_RESTRICT y)
{
    int i, j;
    if (nc == 8) {
        const DOPT_REAL *DOPT_RESTRICT c0 = B, *DOPT_RESTRICT c1 = c0 + ldb, *DOPT_RESTRICT c2 = c1 + ldb;
        const DOPT_REAL *DOPT_RESTRICT c3 = c2 + ldb, *DOPT_RESTRICT c4 = c3 + ldb, *DOPT_RESTRICT c5 = c4 + ldb;
        const DOPT_REAL *DOPT_RESTRICT c6 = c5 + ldb, *DOPT_RESTRICT c7 = c6 + ldb;
        const DOPT_REAL x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
        for (i = 0; i < m; ++i)
            y[i] -= ((c0[i] * x0 + c1[i] * x1) + (c2[i] * x2 + c3[i] * x3)) +
                    ((c4[i] * x4 + c5[i] * x5) + (c6[i] * x6 + c7[i] * x7));
        return;
    }
    for (j = 0; j < nc; ++j) {
        const DOPT_REAL *DOPT_RESTRICT c = B + (size_t)j * ldb;
        const DOPT_REAL xj = x[j];
        for (i = 0; i < m; ++i) y[i] -= c[i] * xj;
    }
}

/* Forward sweep X <- L^{-1} X in the permuted ordering, supernode by supernode; X is n x nrhs
 * (leading dimension n), T holds max_nsrow x nrhs reals. */
static void DOPT_FN(dopt__sp_forward_sweep)(const dopt_sparse_symbolic *S, const DOPT_REAL *Lx, int nrhs,
                                            DOPT_REAL *X, DOPT_REAL *T)
{
    const int n = S->n;
    int s, i, j, r;
    for (s = 0; s < S->nsuper; ++s) {
        const int k1 = S->super[s], nscol = S->super[s + 1] - k1, nsrow = S->rowptr[s + 1] - S->rowptr[s];
        const int m = nsrow - nscol, *rows = S->rowind + S->rowptr[s] + nscol;
        const DOPT_REAL *Ls = Lx + S->valptr[s];
        if (nrhs == 1) {
            DOPT_REAL *DOPT_RESTRICT x = X + k1;
            int jb, je;
            for (jb = 0; jb < nscol; jb = je) { /* diagonal block: 8 columns at a time */
                DOPT_REAL inv[8];
                je = nscol - jb > 8 ? jb + 8 : nscol;
                for (j = jb; j < je; ++j) inv[j - jb] = 1 / Ls[(size_t)j * nsrow + j]; /* independent divisions */
                if (je - jb == 8) { /* full block: 8-lane steps of fixed length (lanes above j masked) */
                    DOPT_REAL xv[8];
                    int l;
                    for (l = 0; l < 8; ++l) xv[l] = x[jb + l];
                    for (j = 0; j < 8; ++j) {
                        const DOPT_REAL *DOPT_RESTRICT col = Ls + (size_t)(jb + j) * nsrow + jb;
                        const DOPT_REAL xj = xv[j] * inv[j];
                        for (l = 0; l < 8; ++l) xv[l] = l == j ? xj : l > j ? xv[l] - col[l] * xj : xv[l];
                    }
                    for (l = 0; l < 8; ++l) x[jb + l] = xv[l];
                } else {
                    for (j = jb; j < je; ++j) {
                        const DOPT_REAL *DOPT_RESTRICT col = Ls + (size_t)j * nsrow;
                        DOPT_REAL xj = x[j] *= inv[j - jb];
                        for (i = j + 1; i < je; ++i) x[i] -= col[i] * xj;
                    }
                }
                if (je < nscol) DOPT_FN(dopt__sp_sub_gemv)(nscol - je, je - jb, Ls + je + (size_t)jb * nsrow, nsrow, x + jb, x + je);
            }
            if (m > 0) {
                const DOPT_REAL *B = Ls + nscol;
                for (i = 0; i < m; ++i) T[i] = 0;
                for (j = 0; j + 4 <= nscol; j += 4) { /* four columns per pass over T */
                    const DOPT_REAL *DOPT_RESTRICT c0 = B + (size_t)j * nsrow, *DOPT_RESTRICT c1 = c0 + nsrow;
                    const DOPT_REAL *DOPT_RESTRICT c2 = c1 + nsrow, *DOPT_RESTRICT c3 = c2 + nsrow;
                    DOPT_REAL x0 = x[j], x1 = x[j + 1], x2 = x[j + 2], x3 = x[j + 3];
                    for (i = 0; i < m; ++i) T[i] += c0[i] * x0 + c1[i] * x1 + c2[i] * x2 + c3[i] * x3;
                }
                for (; j < nscol; ++j) {
                    const DOPT_REAL *DOPT_RESTRICT col = B + (size_t)j * nsrow;
                    DOPT_REAL xj = x[j];
                    for (i = 0; i < m; ++i) T[i] += col[i] * xj;
                }
                for (i = 0; i < m; ++i) X[rows[i]] -= T[i];
            }
        } else {
            DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, nscol, nrhs, 1, Ls, nsrow, X + k1, n);
            if (m > 0) {
                DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, m, nrhs, nscol, 1, Ls + nscol, nsrow, X + k1, n, 0, T, m);
                for (r = 0; r < nrhs; ++r)
                    for (i = 0; i < m; ++i) X[rows[i] + (size_t)r * n] -= T[i + (size_t)r * m];
            }
        }
    }
}

/* Backward sweep X <- L^{-T} X in the permuted ordering, supernodes in reverse; same shapes as
 * the forward sweep. */
static void DOPT_FN(dopt__sp_backward_sweep)(const dopt_sparse_symbolic *S, const DOPT_REAL *Lx, int nrhs,
                                             DOPT_REAL *X, DOPT_REAL *T)
{
    const int n = S->n;
    int s, i, j, r;
    for (s = S->nsuper - 1; s >= 0; --s) {
        const int k1 = S->super[s], nscol = S->super[s + 1] - k1, nsrow = S->rowptr[s + 1] - S->rowptr[s];
        const int m = nsrow - nscol, *rows = S->rowind + S->rowptr[s] + nscol;
        const DOPT_REAL *Ls = Lx + S->valptr[s];
        if (nrhs == 1) {
            DOPT_REAL *DOPT_RESTRICT x = X + k1;
            int jb, je;
            if (m > 0) {
                for (i = 0; i < m; ++i) T[i] = X[rows[i]];
                DOPT_FN(dopt__sp_sub_dots)(m, nscol, Ls + nscol, nsrow, T, x);
            }
            for (je = nscol; je > 0; je = jb) { /* diagonal block: 8 columns at a time from the end */
                DOPT_REAL inv[8];
                jb = je > 8 ? je - 8 : 0;
                if (je < nscol) DOPT_FN(dopt__sp_sub_dots)(nscol - je, je - jb, Ls + je + (size_t)jb * nsrow, nsrow, x + je, x + jb);
                for (j = jb; j < je; ++j) inv[j - jb] = 1 / Ls[(size_t)j * nsrow + j];
                if (je - jb == 8) { /* full block: rows of L^T (columns of the block) as 8-lane steps */
                    DOPT_REAL xv[8], lt[8][8];
                    int l;
                    for (j = 0; j < 8; ++j) /* lt[i][j] = L[jb+i, jb+j]: row i of the block */
                        for (l = 0; l < 8; ++l) lt[l][j] = Ls[(size_t)(jb + j) * nsrow + jb + l];
                    for (l = 0; l < 8; ++l) xv[l] = x[jb + l];
                    for (j = 7; j >= 0; --j) {
                        const DOPT_REAL xj = xv[j] * inv[j];
                        for (l = 0; l < 8; ++l) xv[l] = l == j ? xj : l < j ? xv[l] - lt[j][l] * xj : xv[l];
                    }
                    for (l = 0; l < 8; ++l) x[jb + l] = xv[l];
                } else {
                    for (j = je - 1; j >= jb; --j) {
                        const DOPT_REAL *DOPT_RESTRICT col = Ls + (size_t)j * nsrow;
                        DOPT_REAL acc = x[j];
                        for (i = j + 1; i < je; ++i) acc -= col[i] * x[i];
                        x[j] = acc * inv[j - jb];
                    }
                }
            }
        } else {
            if (m > 0) {
                for (r = 0; r < nrhs; ++r)
                    for (i = 0; i < m; ++i) T[i + (size_t)r * m] = X[rows[i] + (size_t)r * n];
                DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, nscol, nrhs, m, -1, Ls + nscol, nsrow, T, m, 1, X + k1, n);
            }
            DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_TRANS, DOPT_NONUNIT, nscol, nrhs, 1, Ls, nsrow, X + k1, n);
        }
    }
}

/* X <- (L L^T)^{-1} X in the permuted ordering: the forward then the backward sweep. */
static void DOPT_FN(dopt__sp_solve_perm)(const dopt_sparse_symbolic *S, const DOPT_REAL *Lx, int nrhs,
                                         DOPT_REAL *X, DOPT_REAL *T)
{
    DOPT_FN(dopt__sp_forward_sweep)(S, Lx, nrhs, X, T);
    DOPT_FN(dopt__sp_backward_sweep)(S, Lx, nrhs, X, T);
}

DOPT_API void DOPT_FN(dopt_sparse_solve_element)(DOPT_FN(dopt_sparse_numeric) *F, int element, int nrhs,
                                                 DOPT_REAL *B, int ldb)
{
    const dopt_sparse_symbolic *S;
    int r0, k, r, n;
    if (!F || !F->sym || element < 0 || element >= F->batch || nrhs <= 0 || !B) return;
    S = F->sym;
    n = S->n;
    for (r0 = 0; r0 < nrhs; r0 += DOPT_SPARSE_RHS_CHUNK) {
        int nr = nrhs - r0 < DOPT_SPARSE_RHS_CHUNK ? nrhs - r0 : DOPT_SPARSE_RHS_CHUNK;
        DOPT_REAL *X = F->xwork;
        for (r = 0; r < nr; ++r)
            for (k = 0; k < n; ++k) X[k + (size_t)r * n] = B[S->perm[k] + (size_t)(r0 + r) * ldb];
        DOPT_FN(dopt__sp_solve_perm)(S, F->x + (size_t)element * S->nnz_storage, nr, X, F->twork);
        for (r = 0; r < nr; ++r)
            for (k = 0; k < n; ++k) B[S->perm[k] + (size_t)(r0 + r) * ldb] = X[k + (size_t)r * n];
    }
}

DOPT_API void DOPT_FN(dopt_sparse_solve)(DOPT_FN(dopt_sparse_numeric) *F, int nrhs, DOPT_REAL *B, int ldb)
{
    DOPT_FN(dopt_sparse_solve_element)(F, 0, nrhs, B, ldb);
}

DOPT_API void DOPT_FN(dopt_sparse_solve_batch)(DOPT_FN(dopt_sparse_numeric) *F, int count, int nrhs,
                                               DOPT_REAL *B, int ldb, ptrdiff_t strideB)
{
    int b;
    if (!F) return;
    for (b = 0; b < count && b < F->batch; ++b)
        DOPT_FN(dopt_sparse_solve_element)(F, b, nrhs, B + (ptrdiff_t)b * strideB, ldb);
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_solve_backward)(DOPT_FN(dopt_sparse_numeric) *F, int element,
                                                         const DOPT_REAL *x, const DOPT_REAL *gx,
                                                         DOPT_REAL *gb, DOPT_REAL *gA)
{
    const dopt_sparse_symbolic *S;
    int j, p;
    if (!F || !F->sym || !x || !gx || !gb || element < 0 || element >= F->batch) return DOPT_ERR_INVALID_ARGUMENT;
    S = F->sym;
    if (gb != gx) memcpy(gb, gx, (size_t)S->n * sizeof(DOPT_REAL));
    DOPT_FN(dopt_sparse_solve_element)(F, element, 1, gb, S->n);
    if (!DOPT_FN(dopt_all_finite)(S->n, gb)) return DOPT_ERR_NON_FINITE;
    if (!gA) return DOPT_OK;
    for (j = 0; j < S->n; ++j)
        for (p = S->Ap[j]; p < S->Ap[j + 1]; ++p) {
            int i = S->Ai[p];
            if (S->amap[p] == DOPT__SP_NONE) gA[p] = 0;
            else if (i == j) gA[p] = -gb[i] * x[i];
            else gA[p] = -(gb[i] * x[j] + gb[j] * x[i]);
        }
    return DOPT_FN(dopt_all_finite)(S->nnz_a, gA) ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

/* ---- selected inverse (Takahashi recurrences on the supernodal factor) -------------------------- */

/* The largest m = rows below a supernode's columns, k = its columns, and m k over supernodes. */
static void DOPT_FN(dopt__sp_selinv_dims)(const dopt_sparse_symbolic *S, size_t *mmax, size_t *kmax, size_t *mkmax)
{
    int sn;
    *mmax = *kmax = *mkmax = 0;
    for (sn = 0; sn < S->nsuper; ++sn) {
        const size_t k = (size_t)(S->super[sn + 1] - S->super[sn]);
        const size_t m = (size_t)(S->rowptr[sn + 1] - S->rowptr[sn]) - k;
        if (m > *mmax) *mmax = m;
        if (k > *kmax) *kmax = k;
        if (m * k > *mkmax) *mkmax = m * k;
    }
}

DOPT_API size_t DOPT_FN(dopt_sparse_selinv_workspace_size)(const dopt_sparse_symbolic *S)
{
    size_t m, k, mk;
    if (!S) return 0;
    DOPT_FN(dopt__sp_selinv_dims)(S, &m, &k, &mk);
    return DOPT_WORKSPACE_ALIGN + DOPT_WORKSPACE_ROUND((m * m + mk + k * k + 1) * sizeof(DOPT_REAL)) +
           DOPT_WORKSPACE_ROUND(((size_t)S->n + 1) * sizeof(int));
}

/* Z_RR (m x m, both triangles) of supernode sn from the ancestors' finished columns of Z; pos is
 * n ints of scratch: the position of each row in the supernode whose columns are being read. */
static void DOPT_FN(dopt__sp_selinv_gather)(const dopt_sparse_symbolic *S, int sn, const DOPT_REAL *Z,
                                            DOPT_REAL *ZRR, int *pos)
{
    const int k = S->super[sn + 1] - S->super[sn];
    const int *R = S->rowind + S->rowptr[sn] + k;
    const int m = S->rowptr[sn + 1] - S->rowptr[sn] - k;
    int a, b, t = -1, q;
    for (b = 0; b < m; ++b) {
        const int tb = S->col2super[R[b]];
        size_t nrt, col;
        const DOPT_REAL *Zc;
        if (tb != t) { /* the next ancestor: where its rows sit */
            t = tb;
            for (q = S->rowptr[t]; q < S->rowptr[t + 1]; ++q) pos[S->rowind[q]] = q - S->rowptr[t];
        }
        nrt = (size_t)(S->rowptr[t + 1] - S->rowptr[t]);
        col = (size_t)(R[b] - S->super[t]);
        Zc = Z + S->valptr[t] + col * nrt;
        for (a = b; a < m; ++a) {
            const DOPT_REAL v = Zc[pos[R[a]]];
            ZRR[a + (size_t)b * m] = v;
            ZRR[b + (size_t)a * m] = v;
        }
    }
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_selinv)(const DOPT_FN(dopt_sparse_numeric) *F, int element,
                                                 DOPT_REAL *Z, void *work, size_t bytes)
{
    const dopt_sparse_symbolic *S;
    size_t mmax, kmax, mkmax;
    DOPT_REAL *ZRR, *Y, *T;
    int *pos, sn;
    dopt_workspace ws;
    if (!F || !F->sym || !Z || !work || element < 0 || element >= F->batch) return DOPT_ERR_INVALID_ARGUMENT;
    S = F->sym;
    if (bytes < DOPT_FN(dopt_sparse_selinv_workspace_size)(S)) return DOPT_ERR_ALLOCATION;
    if (F->fail_col[element] != -1) return DOPT_ERR_NOT_POSITIVE_DEFINITE;
    DOPT_FN(dopt__sp_selinv_dims)(S, &mmax, &kmax, &mkmax);
    dopt_workspace_init(&ws, work, bytes);
    ZRR = (DOPT_REAL *)dopt_workspace_take(&ws, (mmax * mmax + mkmax + kmax * kmax + 1) * sizeof(DOPT_REAL));
    pos = (int *)dopt_workspace_take(&ws, ((size_t)S->n + 1) * sizeof(int));
    if (!ZRR || !pos) return DOPT_ERR_ALLOCATION;
    Y = ZRR + mmax * mmax;
    T = Y + mkmax;
    for (sn = S->nsuper - 1; sn >= 0; --sn) {
        const int k = S->super[sn + 1] - S->super[sn], nr = S->rowptr[sn + 1] - S->rowptr[sn], m = nr - k;
        const DOPT_REAL *L = F->x + (size_t)element * S->nnz_storage + S->valptr[sn];
        DOPT_REAL *Zs = Z + S->valptr[sn];
        int i, j;
        /* T = L_JJ^{-1}, then Z_JJ = T^T T (lower triangle) */
        for (j = 0; j < k; ++j)
            for (i = 0; i < k; ++i) T[i + (size_t)j * k] = i == j;
        DOPT_FN(dopt_trsm)(DOPT_LEFT, DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, k, k, 1, L, nr, T, k);
        for (j = 0; j < k; ++j)
            for (i = j; i < k; ++i) {
                DOPT_REAL v = 0;
                int q;
                for (q = i; q < k; ++q) v += T[q + (size_t)i * k] * T[q + (size_t)j * k];
                Zs[i + (size_t)j * nr] = v;
                if (i > j) Zs[j + (size_t)i * nr] = 0; /* the scratch upper part, kept finite */
            }
        if (m == 0) continue;
        /* Y = L_RJ L_JJ^{-1}; Z_RJ = -Z_RR Y; Z_JJ -= Y^T Z_RJ */
        for (j = 0; j < k; ++j) memcpy(Y + (size_t)j * m, L + k + (size_t)j * nr, (size_t)m * sizeof(DOPT_REAL));
        DOPT_FN(dopt_trsm)(DOPT_RIGHT, DOPT_LOWER, DOPT_NOTRANS, DOPT_NONUNIT, m, k, 1, L, nr, Y, m);
        DOPT_FN(dopt__sp_selinv_gather)(S, sn, Z, ZRR, pos);
        DOPT_FN(dopt_gemm)(DOPT_NOTRANS, DOPT_NOTRANS, m, k, m, -1, ZRR, m, Y, m, 0, Zs + k, nr);
        DOPT_FN(dopt_gemm)(DOPT_TRANS, DOPT_NOTRANS, k, k, m, -1, Y, m, Zs + k, nr, 1, Zs, nr);
    }
    {
        size_t q;
        int bad = 0;
        for (q = 0; q < S->nnz_storage; ++q) bad |= Z[q] - Z[q] != 0;
        return bad ? DOPT_ERR_NON_FINITE : DOPT_OK;
    }
}

/* The lane factor object (the least-squares adaptor's factor_batch storage).  x: the W factors,
 * x[q W + l] for storage entry q of lane l; X: solve workspace (n lane vectors); map, rel,
 * head, next, lpos: index workspace as in dopt_sparse_numeric; W: the lane count; fail[l]: -1 or the original
 * column of lane l's first failing pivot, status[l] its status. */
typedef struct DOPT_FN(dopt__sp_lanes) {
    const dopt_sparse_symbolic *sym;
    DOPT_REAL *x, *X;
    int *map, *rel, *head, *next, *lpos;
    int W;                      /* lanes: DOPT__SP_W of the kernel family the CPU runs          */
    int fail[DOPT__SP_WMAX];
    dopt_status status[DOPT__SP_WMAX];
} DOPT_FN(dopt__sp_lanes);

#ifdef __cplusplus
}
#endif
#endif /* DOPT_SPARSE__PASS_IMPL (continued after the lane kernels) */

/* =============================================================================================== */
/* The lane kernel region: the lane batch's factorization and solve, one pass per kernel family    */
/* (dopt.h's family driver), like the factorization kernels above; W = DOPT__SP_W of the pass.     */
/* =============================================================================================== */
#if defined(DOPT__KPASS) && defined(DOPT__SP_LANE_KERNELS) && defined(DOPT_REAL)

/* ---- the lane batch: DOPT__SP_W matrices of one pattern, lane-interleaved ----------------------
 * Entry q of the supernodal storage (layout in dopt_sparse_symbolic) of matrix l sits at
 * x[q * W + l]: every entry of L is a vector of W reals, one per matrix, so the supernodes'
 * dense work is vector work whatever their shape (a 6-column supernode updates W columns of
 * vectors, no partial vectors, no scatter of partial rows), and the index work (lists, relative
 * maps, tile bounds) is done once for the W matrices.  The algorithm is the left-looking
 * supernodal one of dopt__sp_numeric_map; the vector of lane l's failures is kept apart so that
 * one matrix failing lets the others go on. */

/* One lane vector: W reals of one entry.  With vector extensions the register type, else a
 * plain array whose loops (constant length W) the compiler vectorizes. */
#if DOPT__SP_VLANES
typedef DOPT__KFN(dopt__vreal) DOPT__KFN(dopt__lane);
#else
typedef struct DOPT__KFN(dopt__lane) { DOPT_REAL v[DOPT__SP_W]; } DOPT__KFN(dopt__lane);
#endif

DOPT__KTARGET DOPT__FMA_KERNEL static DOPT__SP_INLINE DOPT__KFN(dopt__lane) DOPT__KFN(dopt__lane_ld)(const DOPT_REAL *p)
{
    DOPT__KFN(dopt__lane) v;
#if DOPT__SP_VLANES
    v = DOPT__VLD(p);
#else
    memcpy(&v, p, sizeof v);
#endif
    return v;
}

DOPT__KTARGET DOPT__FMA_KERNEL static DOPT__SP_INLINE void DOPT__KFN(dopt__lane_st)(DOPT_REAL *p, DOPT__KFN(dopt__lane) v)
{
#if DOPT__SP_VLANES
    DOPT__VST(p, v);
#else
    memcpy(p, &v, sizeof v);
#endif
}

DOPT__KTARGET DOPT__FMA_KERNEL static DOPT__SP_INLINE DOPT__KFN(dopt__lane) DOPT__KFN(dopt__lane_zero)(void)
{
    DOPT__KFN(dopt__lane) v;
    memset(&v, 0, sizeof v);
    return v;
}

/* c - a * b, lane by lane (one fused multiply-add where the target has it). */
DOPT__KTARGET DOPT__FMA_KERNEL static DOPT__SP_INLINE DOPT__KFN(dopt__lane) DOPT__KFN(dopt__lane_fnma)(DOPT__KFN(dopt__lane) c,
                                                                                   DOPT__KFN(dopt__lane) a,
                                                                                   DOPT__KFN(dopt__lane) b)
{
    DOPT__FMA_BODY
#if DOPT__SP_VLANES
    return c - a * b;
#else
    int l;
    for (l = 0; l < DOPT__SP_W; ++l) c.v[l] -= a.v[l] * b.v[l];
    return c;
#endif
}

/* a + b, lane by lane. */
DOPT__KTARGET static DOPT__SP_INLINE DOPT__KFN(dopt__lane) DOPT__KFN(dopt__lane_add)(DOPT__KFN(dopt__lane) a, DOPT__KFN(dopt__lane) b)
{
#if DOPT__SP_VLANES
    return a + b;
#else
    int l;
    for (l = 0; l < DOPT__SP_W; ++l) a.v[l] += b.v[l];
    return a;
#endif
}

/* a / b, lane by lane. */
DOPT__KTARGET static DOPT__SP_INLINE DOPT__KFN(dopt__lane) DOPT__KFN(dopt__lane_div)(DOPT__KFN(dopt__lane) a, DOPT__KFN(dopt__lane) b)
{
#if DOPT__SP_VLANES
    return a / b;
#else
    int l;
    for (l = 0; l < DOPT__SP_W; ++l) a.v[l] /= b.v[l];
    return a;
#endif
}

/* a * b, lane by lane. */
DOPT__KTARGET DOPT__FMA_KERNEL static DOPT__SP_INLINE DOPT__KFN(dopt__lane) DOPT__KFN(dopt__lane_mul)(DOPT__KFN(dopt__lane) a,
                                                                                  DOPT__KFN(dopt__lane) b)
{
#if DOPT__SP_VLANES
    return a * b;
#else
    int l;
    for (l = 0; l < DOPT__SP_W; ++l) a.v[l] *= b.v[l];
    return a;
#endif
}

/* One register tile of a lane update: for the mr rows i (reli) and nc columns q (relj) of the
 * tile, Ls[reli[i] + relj[q] lds] -= sum_k a[i + k ldd] b[q + k ldd] (k < ndcol), every
 * index counting lane vectors (W reals), except the entries above the diagonal, i + off < q
 * (off: the tile's first row minus its first column, in the update's rows), which are neither
 * read nor written (the upper triangles are never zeroed).  mr and nc are constants where the
 * dispatcher below inlines it, so the mr x nc sums stay in registers.  The sums start from zero
 * and the target entries are read only at the end, so that the products do not wait for them
 * (an update into a big supernode finds its target in the last-level cache). */
DOPT__KTARGET DOPT__FMA_KERNEL static DOPT__SP_INLINE void DOPT__KFN(dopt__sp_lane_tile_mn)(int mr, int nc, int ndcol,
                                                                          const DOPT_REAL *DOPT_RESTRICT a,
                                                                          const DOPT_REAL *DOPT_RESTRICT b, int ldd,
                                                                          const int *reli, const int *relj, int off,
                                                                          DOPT_REAL *Ls, int lds)
{
    DOPT__KFN(dopt__lane) c[DOPT__SP_LMR][DOPT__SP_LNC], bv[DOPT__SP_LNC], av;
    const size_t step = (size_t)ldd * DOPT__SP_W;
    int k, i, q;
    DOPT__SP_UNROLL
    for (q = 0; q < nc; ++q)
        DOPT__SP_UNROLL
        for (i = 0; i < mr; ++i) c[i][q] = DOPT__KFN(dopt__lane_zero)();
    for (k = 0; k < ndcol; ++k, a += step, b += step) {
        DOPT__SP_UNROLL
        for (q = 0; q < nc; ++q) bv[q] = DOPT__KFN(dopt__lane_ld)(b + (size_t)q * DOPT__SP_W);
        DOPT__SP_UNROLL
        for (i = 0; i < mr; ++i) {
            av = DOPT__KFN(dopt__lane_ld)(a + (size_t)i * DOPT__SP_W);
#if DOPT__SP_VLANES
#if defined(__aarch64__)
            __asm__("" : "+w"(av)); /* one load of av, not one folded into each multiply-add */
#else
            __asm__("" : "+v"(av));
#endif
#endif
            DOPT__SP_UNROLL
            for (q = 0; q < nc; ++q) c[i][q] = DOPT__KFN(dopt__lane_fnma)(c[i][q], av, bv[q]);
        }
    }
    DOPT__SP_UNROLL
    for (q = 0; q < nc; ++q)
        DOPT__SP_UNROLL
        for (i = 0; i < mr; ++i)
            if (i + off >= q) {
                DOPT_REAL *t = Ls + ((size_t)relj[q] * lds + (size_t)reli[i]) * DOPT__SP_W;
                DOPT__KFN(dopt__lane_st)(t, DOPT__KFN(dopt__lane_add)(DOPT__KFN(dopt__lane_ld)(t), c[i][q]));
            }
}

/* dopt__sp_lane_tile_mn with its shape made a constant: mr in {LMR, 4, 2, 1} (those <= LMR),
 * nc in {1, 2, 3}. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__sp_lane_tile)(int mr, int nc, int ndcol, const DOPT_REAL *a,
                                                       const DOPT_REAL *b, int ldd, const int *reli,
                                                       const int *relj, int off, DOPT_REAL *Ls, int lds)
{
#define DOPT__SP_LANE_CASE(M, N)                                                                           \
    case (M)*4 + (N): DOPT__KFN(dopt__sp_lane_tile_mn)(M, N, ndcol, a, b, ldd, reli, relj, off, Ls, lds); break;
    switch (mr * 4 + nc) {
#if DOPT__SP_LMR > 4
        DOPT__SP_LANE_CASE(DOPT__SP_LMR, 3) DOPT__SP_LANE_CASE(DOPT__SP_LMR, 2) DOPT__SP_LANE_CASE(DOPT__SP_LMR, 1)
#endif
#if DOPT__SP_LMR >= 4
        DOPT__SP_LANE_CASE(4, 3) DOPT__SP_LANE_CASE(4, 2) DOPT__SP_LANE_CASE(4, 1)
#endif
        DOPT__SP_LANE_CASE(2, 3) DOPT__SP_LANE_CASE(2, 2) DOPT__SP_LANE_CASE(2, 1)
        DOPT__SP_LANE_CASE(1, 3) DOPT__SP_LANE_CASE(1, 2) DOPT__SP_LANE_CASE(1, 1)
    default: DOPT_ASSERT(0);
    }
#undef DOPT__SP_LANE_CASE
}

/* The lane form of dopt__sp_update: Ls[rel[i], rel[j]] -= sum_k Ld[i,k] Ld[j,k] for j < ndrow1,
 * j <= i < ndrow2, k < ndcol (indices count lane vectors; Ld has leading dimension ldd, Ls lds),
 * in register tiles of up to LMR rows x LNC columns.  Nothing above the diagonal is touched. */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_lane_update)(int ndcol, int ndrow1, int ndrow2, const DOPT_REAL *Ld, int ldd,
                                          const int *rel, DOPT_REAL *Ls, int lds)
{
    int j0, i0;
    if (ndcol <= 0) return;
    for (j0 = 0; j0 < ndrow1; j0 += DOPT__SP_LNC) {
        const int nc = ndrow1 - j0 < DOPT__SP_LNC ? ndrow1 - j0 : DOPT__SP_LNC;
        for (i0 = j0; i0 < ndrow2;) {
            const int rem = ndrow2 - i0;
            const int mr = rem >= DOPT__SP_LMR ? DOPT__SP_LMR : rem >= 4 && DOPT__SP_LMR >= 4 ? 4 : rem >= 2 ? 2 : 1;
            DOPT__KFN(dopt__sp_lane_tile)(mr, nc, ndcol, Ld + (size_t)i0 * DOPT__SP_W, Ld + (size_t)j0 * DOPT__SP_W, ldd,
                                        rel + i0, rel + j0, i0 - j0, Ls, lds);
            i0 += mr;
        }
    }
}

/* Factor columns q0 .. q0+cg-1 of the lane panel A (nsrow rows, leading dimension ld, lane
 * vectors) whose updates from the columns left of q0 are in: each column takes the update of
 * the group's earlier columns, then its pivot d is checked lane by lane.  A lane whose pivot is
 * not positive or not finite records (once: its first failure) the ORIGINAL column perm[q] and
 * DOPT_ERR_NOT_POSITIVE_DEFINITE or DOPT_ERR_NON_FINITE in fail[] / status[], and continues
 * with pivot 1 and a zero column below it, so that its numbers stay finite while the other
 * lanes finish.  Otherwise L[q,q] = sqrt(d), L[i,q] = A[i,q] / sqrt(d). */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__sp_lane_factor_cols)(int q0, int cg, int nsrow, DOPT_REAL *A, int ld,
                                                              const int *perm, int *fail, dopt_status *status)
{
    const size_t W = DOPT__SP_W, ldw = (size_t)ld * W;
    int q, j, i, l;
    for (q = q0; q < q0 + cg; ++q) {
        DOPT_REAL *cq = A + (size_t)q * ldw, d[DOPT__SP_W], sq[DOPT__SP_W], inv[DOPT__SP_W];
        DOPT__KFN(dopt__lane) lq[DOPT__SP_LNC], scale;
        for (j = q0; j < q; ++j) lq[j - q0] = DOPT__KFN(dopt__lane_ld)(A + (size_t)j * ldw + (size_t)q * W);
        if (q > q0)
            for (i = q; i < nsrow; ++i) {
                DOPT__KFN(dopt__lane) c = DOPT__KFN(dopt__lane_ld)(cq + (size_t)i * W);
                for (j = q0; j < q; ++j)
                    c = DOPT__KFN(dopt__lane_fnma)(c, DOPT__KFN(dopt__lane_ld)(A + (size_t)j * ldw + (size_t)i * W), lq[j - q0]);
                DOPT__KFN(dopt__lane_st)(cq + (size_t)i * W, c);
            }
        memcpy(d, cq + (size_t)q * W, sizeof d);
        for (l = 0; l < DOPT__SP_W; ++l) {
            if (d[l] > 0 && d[l] - d[l] == 0) {
                sq[l] = DOPT_M(sqrt)(d[l]);
                inv[l] = 1 / sq[l];
                continue;
            }
            if (fail[l] == -1) {
                fail[l] = perm[q];
                status[l] = (d[l] != d[l] || d[l] - d[l] != 0) ? DOPT_ERR_NON_FINITE : DOPT_ERR_NOT_POSITIVE_DEFINITE;
            }
            sq[l] = 1;
            inv[l] = 0;
        }
        memcpy(cq + (size_t)q * W, sq, sizeof sq);
        scale = DOPT__KFN(dopt__lane_ld)(inv);
        for (i = q + 1; i < nsrow; ++i)
            DOPT__KFN(dopt__lane_st)(cq + (size_t)i * W, DOPT__KFN(dopt__lane_mul)(DOPT__KFN(dopt__lane_ld)(cq + (size_t)i * W), scale));
    }
}

/* Cholesky of the lane panel of one supernode (nsrow x nscol lane vectors, leading dimension
 * nsrow) whose updates are in: right-looking over column blocks of DOPT__SP_LNB (the trailing
 * columns of the supernode take each block's update in register tiles, once), each block
 * left-looking over groups of DOPT__SP_LNC columns (a group takes the update of the block's
 * columns left of it in register tiles, then dopt__sp_lane_factor_cols).  ident: nsrow ints
 * i -> i.  perm: the original columns of the supernode's columns.  Failures: see
 * dopt__sp_lane_factor_cols. */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_lane_factor_super)(int nscol, int nsrow, DOPT_REAL *A, const int *ident,
                                                const int *perm, int *fail, dopt_status *status)
{
    const size_t W = DOPT__SP_W;
    int k0, q0;
    for (k0 = 0; k0 < nscol; k0 += DOPT__SP_LNB) {
        const int kb = nscol - k0 < DOPT__SP_LNB ? nscol - k0 : DOPT__SP_LNB, r0 = k0 + kb;
        for (q0 = k0; q0 < r0; q0 += DOPT__SP_LNC) {
            const int cg = r0 - q0 < DOPT__SP_LNC ? r0 - q0 : DOPT__SP_LNC;
            DOPT__KFN(dopt__sp_lane_update)(q0 - k0, cg, nsrow - q0, A + (q0 + (size_t)k0 * nsrow) * W, nsrow, ident,
                                          A + (q0 + (size_t)q0 * nsrow) * W, nsrow);
            DOPT__KFN(dopt__sp_lane_factor_cols)(q0, cg, nsrow, A, nsrow, perm, fail, status);
        }
        if (r0 < nscol)
            DOPT__KFN(dopt__sp_lane_update)(kb, nscol - r0, nsrow - r0, A + (r0 + (size_t)k0 * nsrow) * W, nsrow, ident,
                                          A + (r0 + (size_t)r0 * nsrow) * W, nsrow);
    }
}

/* Lane-interleaved left-looking supernodal Cholesky of the W matrices whose value arrays are
 * vals[l] (lane l's value of A's entry aent[q] is vals[l][vent[q]]) plus diag(dadd[l]) (NULL:
 * none; ORIGINAL numbering; added only to columns c with diagpos == NULL or diagpos[c] >= 0).
 * Every lane needs finite values.  Fills B->x, B->fail, B->status (DOPT_OK where fail is -1). */
DOPT__KTARGET static void DOPT__KFN(dopt__sp_lane_numeric)(DOPT_FN(dopt__sp_lanes) *B, const DOPT_REAL *const *vals,
                                           const DOPT_REAL *const *dadd, const size_t *vent, const int *diagpos)
{
    const dopt_sparse_symbolic *S = B->sym;
    const size_t W = DOPT__SP_W, *valptr = S->valptr, *adst = S->adst;
    const int *super = S->super, *rowptr = S->rowptr, *rowind = S->rowind;
    int *map = B->map, *rel = B->rel, *head = B->head, *next = B->next, *lpos = B->lpos;
    int s, l, p, i;
    DOPT_ASSERT(B->W == DOPT__SP_W);
    for (l = 0; l < DOPT__SP_W; ++l) {
        B->fail[l] = -1;
        B->status[l] = DOPT_OK;
    }
    for (s = 0; s < S->nsuper; ++s) head[s] = -1;
    for (s = 0; s < S->nsuper; ++s) {
        const int k1 = super[s], k2 = super[s + 1], nscol = k2 - k1;
        const int nsrow = rowptr[s + 1] - rowptr[s], *rows = rowind + rowptr[s];
        DOPT_REAL *Ls = B->x + valptr[s] * W;
        int d = head[s];
        for (i = 0; i < nscol; ++i) /* zero s's lower trapezoid, add A's entries */
            memset(Ls + (size_t)i * (size_t)(nsrow + 1) * W, 0, (size_t)(nsrow - i) * W * sizeof(DOPT_REAL));
        for (p = S->aptr[s]; p < S->aptr[s + 1]; ++p) {
            DOPT_REAL *DOPT_RESTRICT e = B->x + adst[p] * W;
            const size_t v = vent[p];
            for (l = 0; l < DOPT__SP_W; ++l) e[l] += vals[l][v];
        }
        for (i = 0; i < nscol; ++i) {
            const int c = S->perm[k1 + i];
            DOPT_REAL *DOPT_RESTRICT e = Ls + (size_t)i * (size_t)(nsrow + 1) * W;
            if (diagpos && diagpos[c] < 0) continue;
            for (l = 0; l < DOPT__SP_W; ++l)
                if (dadd[l]) e[l] += dadd[l][c];
        }
        for (i = 0; i < nsrow; ++i) map[rows[i]] = i;
        while (d != -1) { /* the descendants' updates, as in dopt__sp_numeric_map */
            const int dnext = next[d], ndrow = rowptr[d + 1] - rowptr[d], *drows = rowind + rowptr[d];
            const int p1 = lpos[d];
            int p2 = p1;
            while (p2 < ndrow && drows[p2] < k2) p2++;
            for (i = 0; i < ndrow - p1; ++i) rel[i] = map[drows[p1 + i]];
            DOPT__KFN(dopt__sp_lane_update)(super[d + 1] - super[d], p2 - p1, ndrow - p1, B->x + (valptr[d] + (size_t)p1) * W,
                                          ndrow, rel, Ls, nsrow);
            dopt__sp_link_next(S, head, next, lpos, d, p2); /* d's next target */
            d = dnext;
        }
        for (i = 0; i < nsrow; ++i) rel[i] = i;
        DOPT__KFN(dopt__sp_lane_factor_super)(nscol, nsrow, Ls, rel, S->perm + k1, B->fail, B->status);
        dopt__sp_link_next(S, head, next, lpos, s, nscol);
    }
}

/* X <- (L_l L_l^T)^{-1} X for every lane l at once, in the permuted ordering: X holds n lane
 * vectors (X[k W + l]).  Forward: each supernode's diagonal triangle column by
 * column, then the rows below in blocks of 4 (independent sums over the columns); backward:
 * the rows below first (4 columns at a time), then the triangle, row by row of L^T. */
DOPT__KTARGET DOPT__FMA_KERNEL static void DOPT__KFN(dopt__sp_lane_solve)(const dopt_sparse_symbolic *S, const DOPT_REAL *Lx,
                                                        DOPT_REAL *X)
{
    const size_t W = DOPT__SP_W;
    int s, i, j, r;
    for (s = 0; s < S->nsuper; ++s) { /* forward: L y = x */
        const int k1 = S->super[s], nscol = S->super[s + 1] - k1, nsrow = S->rowptr[s + 1] - S->rowptr[s];
        const int m = nsrow - nscol, *rows = S->rowind + S->rowptr[s] + nscol;
        const DOPT_REAL *Ls = Lx + S->valptr[s] * W;
        const size_t ldw = (size_t)nsrow * W;
        DOPT_REAL *x = X + (size_t)k1 * W;
        for (j = 0; j < nscol; ++j) {
            const DOPT_REAL *col = Ls + (size_t)j * ldw;
            const DOPT__KFN(dopt__lane) xj = DOPT__KFN(dopt__lane_div)(DOPT__KFN(dopt__lane_ld)(x + (size_t)j * W),
                                                                 DOPT__KFN(dopt__lane_ld)(col + (size_t)j * W));
            DOPT__KFN(dopt__lane_st)(x + (size_t)j * W, xj);
            for (i = j + 1; i < nscol; ++i)
                DOPT__KFN(dopt__lane_st)(x + (size_t)i * W, DOPT__KFN(dopt__lane_fnma)(DOPT__KFN(dopt__lane_ld)(x + (size_t)i * W),
                                                                                DOPT__KFN(dopt__lane_ld)(col + (size_t)i * W), xj));
        }
        for (i = 0; i < m; i += 4) {
            const int nr = m - i < 4 ? m - i : 4;
            DOPT__KFN(dopt__lane) acc[4];
            for (r = 0; r < nr; ++r) acc[r] = DOPT__KFN(dopt__lane_ld)(X + (size_t)rows[i + r] * W);
            for (j = 0; j < nscol; ++j) {
                const DOPT_REAL *col = Ls + (size_t)j * ldw + (size_t)(nscol + i) * W;
                const DOPT__KFN(dopt__lane) xj = DOPT__KFN(dopt__lane_ld)(x + (size_t)j * W);
                for (r = 0; r < nr; ++r) acc[r] = DOPT__KFN(dopt__lane_fnma)(acc[r], DOPT__KFN(dopt__lane_ld)(col + (size_t)r * W), xj);
            }
            for (r = 0; r < nr; ++r) DOPT__KFN(dopt__lane_st)(X + (size_t)rows[i + r] * W, acc[r]);
        }
    }
    for (s = S->nsuper - 1; s >= 0; --s) { /* backward: L^T x = y */
        const int k1 = S->super[s], nscol = S->super[s + 1] - k1, nsrow = S->rowptr[s + 1] - S->rowptr[s];
        const int m = nsrow - nscol, *rows = S->rowind + S->rowptr[s] + nscol;
        const DOPT_REAL *Ls = Lx + S->valptr[s] * W;
        const size_t ldw = (size_t)nsrow * W;
        DOPT_REAL *x = X + (size_t)k1 * W;
        for (j = 0; j < nscol && m > 0; j += 4) {
            const int nc = nscol - j < 4 ? nscol - j : 4;
            DOPT__KFN(dopt__lane) acc[4];
            for (r = 0; r < nc; ++r) acc[r] = DOPT__KFN(dopt__lane_ld)(x + (size_t)(j + r) * W);
            for (i = 0; i < m; ++i) {
                const DOPT__KFN(dopt__lane) t = DOPT__KFN(dopt__lane_ld)(X + (size_t)rows[i] * W);
                for (r = 0; r < nc; ++r)
                    acc[r] = DOPT__KFN(dopt__lane_fnma)(acc[r], DOPT__KFN(dopt__lane_ld)(Ls + (size_t)(j + r) * ldw + (size_t)(nscol + i) * W), t);
            }
            for (r = 0; r < nc; ++r) DOPT__KFN(dopt__lane_st)(x + (size_t)(j + r) * W, acc[r]);
        }
        for (j = nscol - 1; j >= 0; --j) { /* x_j final, then eliminated from the rows above (row j of L) */
            const DOPT__KFN(dopt__lane) xj = DOPT__KFN(dopt__lane_div)(DOPT__KFN(dopt__lane_ld)(x + (size_t)j * W),
                                                                 DOPT__KFN(dopt__lane_ld)(Ls + (size_t)j * ldw + (size_t)j * W));
            DOPT__KFN(dopt__lane_st)(x + (size_t)j * W, xj);
            for (i = 0; i < j; ++i)
                DOPT__KFN(dopt__lane_st)(x + (size_t)i * W, DOPT__KFN(dopt__lane_fnma)(DOPT__KFN(dopt__lane_ld)(x + (size_t)i * W),
                                                                                DOPT__KFN(dopt__lane_ld)(Ls + (size_t)i * ldw + (size_t)j * W), xj));
        }
    }
}

#endif /* DOPT__SP_LANE_KERNELS */

#if defined(DOPT_SPARSE__PASS_IMPL) && defined(DOPT_REAL) && !defined(DOPT__KDRIVE)
#ifdef __cplusplus
extern "C" {
#endif

/* the lane kernels of every family this build holds (the region above) */
#define DOPT__SP_LANE_KERNELS
#define DOPT__KDRIVE "dopt_sparse.h"
#include "dopt.h"
#undef DOPT__KDRIVE
#undef DOPT__SP_LANE_KERNELS

/* ---- the least-squares layer's linear solver ------------------------------------------------ */

typedef struct DOPT_FN(dopt__sp_ls) {
    dopt_hooks hooks;
    dopt_sparse_options options;
    int n, nnz;
    int *Ap, *Ai, *diag;  /* scalar lower pattern (analyze() only: freed after the analysis,
                             which keeps its own copy), each column's diagonal entry        */
    size_t *src;          /* nnz: where each CSC entry's value sits in the block values
                             (kept only without vent: factor() then copies through it)     */
    size_t *dval;         /* n: where column j's diagonal value sits in the block values,
                             or DOPT__SP_NONE (the rank check reads the original pivots)    */
    size_t *vent;         /* sym->aent composed with src: the factorization reads the block
                             values in place (NULL when a column lacks its diagonal entry:
                             then values are copied into Ax with diag_add)                  */
    size_t nvent, nvals;  /* nvals: the pattern's block values                               */
    DOPT_REAL *Ax;        /* nnz, only without vent                                          */
    dopt_sparse_symbolic *sym;
    DOPT_FN(dopt_sparse_numeric) *num;   /* batch = the reserved slots; &shared after share_work */
    DOPT_FN(dopt_sparse_numeric) shared; /* one slot in caller memory (share_work)              */
    int cur;                             /* the selected slot                                   */
    DOPT_FN(dopt__sp_lanes) lanes;       /* factor_batch's factors (lanes.x NULL: not reserved) */
    const size_t *lvent;                 /* lane l's value of A's entry aent[q]: values[l][lvent[q]]
                                            (vent, or a copy of src o aent in lane_mem)        */
    void *lane_mem;                      /* everything of the lane batch, one allocation        */
    size_t lane_bytes;
    int lane_count;                      /* matrices of the last factor_batch (0: none)         */
    void *sel_mem;                       /* selected_inverse: Z (sym->nnz_storage reals) and
                                            dopt_sparse_selinv's workspace, on its first call   */
    size_t sel_bytes;
} DOPT_FN(dopt__sp_ls);

static void DOPT_FN(dopt__sp_ls_release_batch)(DOPT_FN(dopt__sp_ls) *s)
{
    dopt_free(&s->hooks, s->lane_mem, s->lane_bytes);
    memset(&s->lanes, 0, sizeof s->lanes);
    s->lvent = NULL;
    s->lane_mem = NULL;
    s->lane_bytes = 0;
    s->lane_count = 0;
}

static void DOPT_FN(dopt__sp_ls_release)(DOPT_FN(dopt__sp_ls) *s)
{
    DOPT_FN(dopt__sp_ls_release_batch)(s);
    dopt_free(&s->hooks, s->sel_mem, s->sel_bytes);
    s->sel_mem = NULL;
    s->sel_bytes = 0;
    DOPT_FN(dopt_sparse_numeric_destroy)(s->num);
    dopt_sparse_symbolic_destroy(s->sym);
    dopt__sp_free(&s->hooks, s->Ap, (size_t)s->n + 1, sizeof(int));
    dopt__sp_free(&s->hooks, s->diag, (size_t)s->n, sizeof(int));
    dopt__sp_free(&s->hooks, s->Ai, (size_t)s->nnz, sizeof(int));
    dopt__sp_free(&s->hooks, s->src, (size_t)s->nnz, sizeof(size_t));
    dopt__sp_free(&s->hooks, s->dval, (size_t)s->n, sizeof(size_t));
    dopt__sp_free(&s->hooks, s->Ax, (size_t)s->nnz, sizeof(DOPT_REAL));
    dopt__sp_free(&s->hooks, s->vent, s->nvent, sizeof(size_t));
    s->vent = NULL;
    s->nvent = 0;
    s->num = NULL;
    s->sym = NULL;
    s->Ap = s->Ai = s->diag = NULL;
    s->src = s->dval = NULL;
    s->Ax = NULL;
    s->n = s->nnz = 0;
}

static dopt_status DOPT_FN(dopt__sp_ls_analyze)(void *self, const dopt_block_pattern *pat, dopt_errinfo *info)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    int bc, k, c, i, p = 0, fail = 0;
    double nnz = 0;
    dopt_status st;
    DOPT_FN(dopt__sp_ls_release)(s);
    if (!pat || pat->n < 0) return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "sparse linear solver: bad pattern");
    for (bc = 0; bc < pat->nblocks; ++bc)
        for (k = pat->col_start[bc]; k < pat->col_start[bc + 1]; ++k)
            nnz += (double)pat->block_dim[pat->row_block[k]] * pat->block_dim[bc];
    if (nnz > INT_MAX) return dopt_errinfo_set(info, DOPT_ERR_DIMENSION, -1, 0, "sparse linear solver: H exceeds int");
    s->n = pat->n;
    s->nnz = (int)nnz;
    s->nvals = pat->nvalues;
    s->Ap = (int *)dopt__sp_alloc(&s->hooks, (size_t)s->n + 1, sizeof(int), &fail);
    s->diag = (int *)dopt__sp_alloc(&s->hooks, (size_t)s->n, sizeof(int), &fail);
    s->Ai = (int *)dopt__sp_alloc(&s->hooks, (size_t)s->nnz, sizeof(int), &fail);
    s->src = (size_t *)dopt__sp_alloc(&s->hooks, (size_t)s->nnz, sizeof(size_t), &fail);
    s->dval = (size_t *)dopt__sp_alloc(&s->hooks, (size_t)s->n, sizeof(size_t), &fail);
    if (fail) {
        DOPT_FN(dopt__sp_ls_release)(s);
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "sparse linear solver: out of memory");
    }
    for (bc = 0; bc < pat->nblocks; ++bc) { /* scalar column c of block column bc */
        int c0 = pat->block_start[bc], cd = pat->block_dim[bc];
        for (c = 0; c < cd; ++c) {
            s->Ap[c0 + c] = p;
            s->diag[c0 + c] = -1;
            for (k = pat->col_start[bc]; k < pat->col_start[bc + 1]; ++k) {
                int br = pat->row_block[k], r0 = pat->block_start[br], rd = pat->block_dim[br];
                for (i = 0; i < rd; ++i) {
                    if (r0 + i == c0 + c) s->diag[c0 + c] = p;
                    s->Ai[p] = r0 + i;
                    s->src[p++] = pat->value_start[k] + (size_t)i + (size_t)c * (size_t)rd;
                }
            }
        }
    }
    s->Ap[s->n] = p;
    for (c = 0; c < s->n; ++c) s->dval[c] = s->diag[c] < 0 ? DOPT__SP_NONE : s->src[s->diag[c]];
    if (dopt__sp_blocks_ok(pat, &s->options)) /* on the block graph: see scalar_analysis */
        st = dopt__sp_analyze_blocks(&s->hooks, pat, s->Ap, s->Ai, &s->options, &s->sym, info);
    else
        st = dopt_sparse_analyze(&s->hooks, s->n, s->Ap, s->Ai, DOPT_LOWER, &s->options, &s->sym, info);
    dopt__sp_free(&s->hooks, s->Ap, (size_t)s->n + 1, sizeof(int)); /* the analysis has its copy */
    dopt__sp_free(&s->hooks, s->Ai, (size_t)s->nnz, sizeof(int));
    s->Ap = s->Ai = NULL;
    if (st == DOPT_OK) st = DOPT_FN(dopt_sparse_numeric_create)(s->sym, 1, &s->num);
    s->cur = 0;
    if (st != DOPT_OK) {
        DOPT_FN(dopt__sp_ls_release)(s);
        return dopt_errinfo_set(info, st, -1, 0, "sparse linear solver: analysis failed");
    }
    for (c = 0; c < s->n && s->diag[c] >= 0; ++c) {}
    if (c == s->n) { /* every diagonal entry present: factor straight from the block values */
        size_t q, nv = (size_t)s->sym->aptr[s->sym->nsuper];
        s->vent = (size_t *)dopt__sp_alloc(&s->hooks, nv > 0 ? nv : 1, sizeof(size_t), &fail);
        if (fail) {
            DOPT_FN(dopt__sp_ls_release)(s);
            return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "sparse linear solver: out of memory");
        }
        s->nvent = nv > 0 ? nv : 1;
        for (q = 0; q < nv; ++q) s->vent[q] = s->src[s->sym->aent[q]];
        dopt__sp_free(&s->hooks, s->src, (size_t)s->nnz, sizeof(size_t)); /* vent and dval replace it */
        s->src = NULL;
    } else { /* a column lacks its diagonal entry: factor() copies the values into Ax */
        s->Ax = (DOPT_REAL *)dopt__sp_alloc(&s->hooks, (size_t)s->nnz, sizeof(DOPT_REAL), &fail);
        if (fail) {
            DOPT_FN(dopt__sp_ls_release)(s);
            return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "sparse linear solver: out of memory");
        }
    }
    return DOPT_OK;
}

/* 1 when the input (values: nvals reals, dadd: NULL or n reals) holds a NaN or an Inf that
 * factor() would see (diag_add counts only at columns whose diagonal entry is in the pattern). */
static int DOPT_FN(dopt__sp_ls_nonfinite)(const DOPT_FN(dopt__sp_ls) *s, const DOPT_REAL *values, const DOPT_REAL *dadd)
{
    int bad = 0, j;
    size_t q;
    for (q = 0; q < s->nvals; ++q) bad |= values[q] - values[q] != 0;
    for (j = 0; dadd && j < s->n; ++j) bad |= (s->vent || s->diag[j] >= 0) && dadd[j] - dadd[j] != 0;
    return bad;
}

/* factor()'s rank check on the factor at x, entry q of L at x[q * w] (w = 1; the lane batch:
 * x = its lane l, w = W): the first pivot (elimination order) whose square is at most tol times
 * its original diagonal entry (values + dadd, as factored); returns its ORIGINAL column, or -1. */
static int DOPT_FN(dopt__sp_ls_rank)(const DOPT_FN(dopt__sp_ls) *s, const DOPT_REAL *x, size_t w,
                                     const DOPT_REAL *values, const DOPT_REAL *dadd)
{
    const dopt_sparse_symbolic *S = s->sym;
    const DOPT_REAL tol = DOPT__RANK_TOL(s->n);
    int sn, c;
    for (sn = 0; sn < S->nsuper; ++sn) {
        const int c0 = S->super[sn], nc = S->super[sn + 1] - c0, nr = S->rowptr[sn + 1] - S->rowptr[sn];
        const DOPT_REAL *L = x + S->valptr[sn] * w;
        for (c = 0; c < nc; ++c) {
            const DOPT_REAL piv = L[(size_t)c * ((size_t)nr + 1) * w];
            const int orig = S->perm[c0 + c];
            const DOPT_REAL a = s->dval[orig] == DOPT__SP_NONE ? 0 : values[s->dval[orig]] + (dadd ? dadd[orig] : 0);
            if (piv * piv <= tol * a) return orig;
        }
    }
    return -1;
}

static dopt_status DOPT_FN(dopt__sp_ls_factor)(void *self, const DOPT_REAL *values, const DOPT_REAL *diag_add,
                                               int *fail_col)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    const dopt_sparse_symbolic *S = s->sym;
    DOPT_FN(dopt_sparse_numeric) one;
    int p, j;
    dopt_status st;
    if (fail_col) *fail_col = -1;
    if (!S || !s->num) return DOPT_ERR_INVALID_ARGUMENT;
    one = *s->num; /* the selected slot as a batch of one, sharing num's workspace */
    one.batch = 1;
    one.x += (size_t)s->cur * S->nnz_storage;
    one.fail_col += s->cur;
    if (s->vent) {
        if (DOPT_FN(dopt__sp_ls_nonfinite)(s, values, diag_add)) {
            one.fail_col[0] = -2;
            if (fail_col) *fail_col = -2;
            return DOPT_ERR_NON_FINITE;
        }
        st = DOPT_FN(dopt__sp_numeric_map)(&one, 1, values, 0, s->vent, diag_add, NULL);
    } else {
        for (p = 0; p < s->nnz; ++p) s->Ax[p] = values[s->src[p]];
        if (diag_add)
            for (j = 0; j < s->n; ++j)
                if (s->diag[j] >= 0) s->Ax[s->diag[j]] += diag_add[j];
        st = DOPT_FN(dopt_sparse_factor)(&one, s->Ax, NULL);
    }
    if (st != DOPT_OK) {
        if (fail_col) *fail_col = one.fail_col[0];
        return st;
    }
    j = DOPT_FN(dopt__sp_ls_rank)(s, one.x, 1, values, diag_add);
    if (j >= 0) {
        if (fail_col) *fail_col = j;
        return DOPT_ERR_NOT_POSITIVE_DEFINITE;
    }
    return DOPT_OK;
}

static dopt_status DOPT_FN(dopt__sp_ls_solve)(void *self, DOPT_REAL *rhs)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    if (!s->num) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_FN(dopt_sparse_solve_element)(s->num, s->cur, 1, rhs, s->n > 0 ? s->n : 1);
    return DOPT_OK;
}

static dopt_status DOPT_FN(dopt__sp_ls_reserve)(void *self, int count)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    DOPT_FN(dopt_sparse_numeric) *num = NULL;
    dopt_status st;
    if (!s->sym || count < 1) return DOPT_ERR_INVALID_ARGUMENT;
    st = DOPT_FN(dopt_sparse_numeric_create)(s->sym, count, &num);
    if (st != DOPT_OK) return st;
    DOPT_FN(dopt_sparse_numeric_destroy)(s->num);
    s->num = num;
    s->cur = 0;
    return DOPT_OK;
}

/* work_bytes / share_work: one factor slot and its workspace (dopt_sparse_numeric_init) */
static size_t DOPT_FN(dopt__sp_ls_work_bytes)(void *self)
{
    const DOPT_FN(dopt__sp_ls) *s = (const DOPT_FN(dopt__sp_ls) *)self;
    return s->sym ? DOPT_FN(dopt_sparse_numeric_memory_size)(s->sym, 1) : 0;
}

static dopt_status DOPT_FN(dopt__sp_ls_share_work)(void *self, void *mem, size_t bytes)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    DOPT_FN(dopt_sparse_numeric) F;
    if (!s->sym || !mem || bytes < DOPT_FN(dopt_sparse_numeric_memory_size)(s->sym, 1)) return DOPT_ERR_INVALID_ARGUMENT;
    if (DOPT_FN(dopt_sparse_numeric_init)(&F, s->sym, 1, mem, bytes) != DOPT_OK) return DOPT_ERR_INVALID_ARGUMENT;
    if (s->num != &s->shared) DOPT_FN(dopt_sparse_numeric_destroy)(s->num);
    s->shared = F;
    s->num = &s->shared;
    s->cur = 0;
    return DOPT_OK;
}

static void DOPT_FN(dopt__sp_ls_select)(void *self, int slot)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    DOPT_ASSERT(s->num && slot >= 0 && slot < s->num->batch);
    s->cur = slot;
}

/* The lane count of the lane batch in the kernel family the CPU runs (its DOPT__SP_W), 0 where
 * the lane batch is not offered (see DOPT__SP_LANES_ON). */
static int DOPT_FN(dopt__sp_lane_width)(void)
{
#if DOPT__DISPATCH
    const int family = dopt__kernel_choice();
    if (family > 0) return (family == 2 ? 64 : 32) / (int)sizeof(DOPT_REAL);
#endif
    return DOPT__SP_LANES_ON ? DOPT__SP_W : 0;
}

/* reserve_batch: one allocation holding the lane factors (sym->nnz_storage lane vectors), the
 * solve's n lane vectors, the index workspace and, when the values are not read in place
 * through vent, the lane entry map. */
static dopt_status DOPT_FN(dopt__sp_ls_reserve_batch)(void *self)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    const dopt_sparse_symbolic *S = s->sym;
    const size_t W = (size_t)DOPT_FN(dopt__sp_lane_width)(), r = sizeof(DOPT_REAL), i = sizeof(int);
    size_t n, ns, nv, bytes, q;
    dopt_workspace ws;
    DOPT_FN(dopt__sp_lanes) *B = &s->lanes;
    size_t *lv = NULL;
    if (!S) return DOPT_ERR_INVALID_ARGUMENT;
    DOPT_FN(dopt__sp_ls_release_batch)(s);
    if ((double)S->nnz_storage * (double)(W * r) > DOPT__SP_LANE_MAX_BYTES) return DOPT_ERR_UNSUPPORTED;
    n = (size_t)S->n + 1;
    ns = (size_t)S->nsuper + 1;
    nv = (size_t)S->aptr[S->nsuper] + 1;
    bytes = DOPT_WORKSPACE_ALIGN + DOPT_WORKSPACE_ROUND((S->nnz_storage + 1) * W * r) + DOPT_WORKSPACE_ROUND(n * W * r) +
            DOPT_WORKSPACE_ROUND(n * i) + DOPT_WORKSPACE_ROUND(((size_t)S->max_nsrow + 1) * i) +
            3 * DOPT_WORKSPACE_ROUND(ns * i) + (s->vent ? 0 : DOPT_WORKSPACE_ROUND(nv * sizeof(size_t)));
    s->lane_mem = dopt_alloc(&s->hooks, bytes);
    if (!s->lane_mem) return DOPT_ERR_ALLOCATION;
    s->lane_bytes = bytes;
    dopt_workspace_init(&ws, s->lane_mem, bytes);
    B->sym = S;
    B->W = (int)W;
    B->x = (DOPT_REAL *)dopt_workspace_take(&ws, (S->nnz_storage + 1) * W * r);
    B->X = (DOPT_REAL *)dopt_workspace_take(&ws, n * W * r);
    B->map = (int *)dopt_workspace_take(&ws, n * i);
    B->rel = (int *)dopt_workspace_take(&ws, ((size_t)S->max_nsrow + 1) * i);
    B->head = (int *)dopt_workspace_take(&ws, ns * i);
    B->next = (int *)dopt_workspace_take(&ws, ns * i);
    B->lpos = (int *)dopt_workspace_take(&ws, ns * i);
    if (!s->vent) {
        lv = (size_t *)dopt_workspace_take(&ws, nv * sizeof(size_t));
        for (q = 0; q + 1 < nv; ++q) lv[q] = s->src[S->aent[q]];
    }
    s->lvent = s->vent ? s->vent : lv;
    DOPT_ASSERT(B->lpos != NULL && s->lvent != NULL);
    return DOPT_OK;
}

/* factor_batch: lanes 0..count-1 take their matrices; a lane with non-finite input (NON_FINITE,
 * fail_col -2), and the lanes past count, factor a copy of the first healthy lane's matrix so
 * that every lane runs on finite numbers.  Then factor()'s rank check, lane by lane. */
static dopt_status DOPT_FN(dopt__sp_ls_factor_batch)(void *self, int count, const DOPT_REAL *const *values,
                                                     const DOPT_REAL *const *diag_add, dopt_status *status,
                                                     int *fail_col)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    DOPT_FN(dopt__sp_lanes) *B = &s->lanes;
    const DOPT_REAL *vals[DOPT__SP_WMAX], *dadd[DOPT__SP_WMAX];
    int bad[DOPT__SP_WMAX], l, donor = -1;
    if (!s->sym || !B->x || count < 1 || count > B->W || !values || !status || !fail_col)
        return DOPT_ERR_INVALID_ARGUMENT;
    s->lane_count = 0;
    for (l = 0; l < count; ++l) {
        if (!values[l] && s->nvals > 0) return DOPT_ERR_INVALID_ARGUMENT;
        bad[l] = DOPT_FN(dopt__sp_ls_nonfinite)(s, values[l], diag_add ? diag_add[l] : NULL);
        if (!bad[l] && donor < 0) donor = l;
    }
    if (donor >= 0) {
        for (l = 0; l < B->W; ++l) {
            const int src = l < count && !bad[l] ? l : donor;
            vals[l] = values[src];
            dadd[l] = diag_add ? diag_add[src] : NULL;
        }
        DOPT__KSEL(DOPT_FN(dopt__sp_lane_numeric))(B, vals, dadd, s->lvent, s->vent ? NULL : s->diag);
    }
    for (l = 0; l < count; ++l) {
        if (bad[l]) {
            B->status[l] = DOPT_ERR_NON_FINITE;
            B->fail[l] = -2;
        } else if (B->status[l] == DOPT_OK) {
            B->fail[l] = DOPT_FN(dopt__sp_ls_rank)(s, B->x + l, (size_t)B->W, vals[l], dadd[l]);
            if (B->fail[l] >= 0) B->status[l] = DOPT_ERR_NOT_POSITIVE_DEFINITE;
        }
        status[l] = B->status[l];
        fail_col[l] = B->fail[l];
    }
    s->lane_count = count;
    return DOPT_OK;
}

/* solve_batch: the healthy lanes' right-hand sides go into the lane vectors (permuted), the
 * others are zero; one lane-interleaved solve; the healthy lanes' solutions come back. */
static void DOPT_FN(dopt__sp_ls_solve_batch)(void *self, int count, DOPT_REAL *const *rhs)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    DOPT_FN(dopt__sp_lanes) *B = &s->lanes;
    const dopt_sparse_symbolic *S = s->sym;
    const size_t W = (size_t)B->W;
    int l, k, ok[DOPT__SP_WMAX];
    if (!B->x || !rhs || count < 1 || count > s->lane_count) return;
    for (l = 0; l < B->W; ++l) ok[l] = l < count && B->status[l] == DOPT_OK && rhs[l];
    for (k = 0; k < S->n; ++k) {
        DOPT_REAL *DOPT_RESTRICT e = B->X + (size_t)k * W;
        const int c = S->perm[k];
        for (l = 0; l < B->W; ++l) e[l] = ok[l] ? rhs[l][c] : 0;
    }
    DOPT__KSEL(DOPT_FN(dopt__sp_lane_solve))(S, B->x, B->X);
    for (k = 0; k < S->n; ++k) {
        const DOPT_REAL *DOPT_RESTRICT e = B->X + (size_t)k * W;
        const int c = S->perm[k];
        for (l = 0; l < count; ++l)
            if (ok[l]) rhs[l][c] = e[l];
    }
}

/* selected_inverse: dopt_sparse_selinv on the current slot into sel_mem, then A's entries of Z
 * go to the block values' positions (entries of the ignored upper triangle are skipped). */
static dopt_status DOPT_FN(dopt__sp_ls_selected_inverse)(void *self, DOPT_REAL *out)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    const dopt_sparse_symbolic *S = s->sym;
    size_t zbytes, wbytes;
    DOPT_REAL *Z;
    void *work;
    dopt_workspace ws;
    dopt_status st;
    int p;
    if (!S || !s->num || !out) return DOPT_ERR_INVALID_ARGUMENT;
    zbytes = DOPT_WORKSPACE_ROUND((S->nnz_storage + 1) * sizeof(DOPT_REAL));
    wbytes = DOPT_FN(dopt_sparse_selinv_workspace_size)(S);
    if (!s->sel_mem) {
        s->sel_mem = dopt_alloc(&s->hooks, DOPT_WORKSPACE_ALIGN + zbytes + wbytes);
        if (!s->sel_mem) return DOPT_ERR_ALLOCATION;
        s->sel_bytes = DOPT_WORKSPACE_ALIGN + zbytes + wbytes;
    }
    dopt_workspace_init(&ws, s->sel_mem, s->sel_bytes);
    Z = (DOPT_REAL *)dopt_workspace_take(&ws, zbytes);
    work = dopt_workspace_take(&ws, wbytes);
    if (!Z || !work) return DOPT_ERR_ALLOCATION;
    st = DOPT_FN(dopt_sparse_selinv)(s->num, s->cur, Z, work, wbytes);
    if (st == DOPT_ERR_NOT_POSITIVE_DEFINITE) return DOPT_ERR_INVALID_ARGUMENT;
    if (st != DOPT_OK) return st;
    if (s->vent) { /* the entries of A in the lower triangle: vent = src o aent, adst = amap o aent */
        size_t q, nv = (size_t)S->aptr[S->nsuper];
        for (q = 0; q < nv; ++q) out[s->vent[q]] = Z[S->adst[q]];
    } else {
        for (p = 0; p < s->nnz; ++p)
            if (S->amap[p] != DOPT__SP_NONE) out[s->src[p]] = Z[S->amap[p]];
    }
    return DOPT_OK;
}

static void DOPT_FN(dopt__sp_ls_destroy)(void *self)
{
    DOPT_FN(dopt__sp_ls) *s = (DOPT_FN(dopt__sp_ls) *)self;
    dopt_hooks h;
    if (!s) return;
    h = s->hooks;
    DOPT_FN(dopt__sp_ls_release)(s);
    dopt_free(&h, s, sizeof *s);
}

DOPT_API dopt_status DOPT_FN(dopt_sparse_linear_solver)(const dopt_hooks *hooks,
                                                        const dopt_sparse_options *options,
                                                        DOPT_FN(dopt_linear_solver) *out)
{
    DOPT_FN(dopt__sp_ls) *s;
    int lanes;
    if (!out) return DOPT_ERR_INVALID_ARGUMENT;
    memset(out, 0, sizeof *out);
    s = (DOPT_FN(dopt__sp_ls) *)dopt_alloc(hooks, sizeof *s);
    if (!s) return DOPT_ERR_ALLOCATION;
    memset(s, 0, sizeof *s);
    if (hooks) s->hooks = *hooks;
    if (options) s->options = *options;
    out->self = s;
    out->analyze = DOPT_FN(dopt__sp_ls_analyze);
    out->factor = DOPT_FN(dopt__sp_ls_factor);
    out->solve = DOPT_FN(dopt__sp_ls_solve);
    out->destroy = DOPT_FN(dopt__sp_ls_destroy);
    out->reserve = DOPT_FN(dopt__sp_ls_reserve);
    out->select = DOPT_FN(dopt__sp_ls_select);
    /* the lane batch where it pays (dopt__sp_lane_width, see DOPT__SP_LANES_ON above) */
    lanes = DOPT_FN(dopt__sp_lane_width)();
    out->batch_width = lanes;
    out->reserve_batch = lanes ? DOPT_FN(dopt__sp_ls_reserve_batch) : NULL;
    out->factor_batch = lanes ? DOPT_FN(dopt__sp_ls_factor_batch) : NULL;
    out->solve_batch = lanes ? DOPT_FN(dopt__sp_ls_solve_batch) : NULL;
    out->selected_inverse = DOPT_FN(dopt__sp_ls_selected_inverse);
    out->work_bytes = DOPT_FN(dopt__sp_ls_work_bytes);
    out->share_work = DOPT_FN(dopt__sp_ls_share_work);
    return DOPT_OK;
}

#ifdef __cplusplus
}
#endif
#endif /* DOPT_SPARSE__PASS_IMPL */

/* TUNING AND MICRO-ARCHITECTURE NOTES (dopt_sparse.h)
 *
 * Kernels of the numeric factorization.  With vector extensions (kernel families avx512, avx2,
 * neon) the updates a supernode receives run in register tiles (dopt.h's gemm tile, MR x 6) that
 * are subtracted straight at their rows of the receiving supernode, with no update buffer or
 * scatter pass, and the off-diagonal solve runs in MR x DOPT__SP_TW tiles (AVX2 on a 2-core Zen 3:
 * torus3D, sphere_bignoise, sphere2500, cubicle factor in 0.70, 0.70, 0.55, 0.54 of CHOLMOD's time,
 * the plain-C kernels took 1.39, 1.43, 1.11, 1.10); tiny blocks take inline loops, and updates whose
 * sending block exceeds the L2 cache take dopt.h's packed gemm, or inside a supernode a
 * lower-trapezoid product packed once (OpenBLAS for both with DOPT_USE_CBLAS).  Very wide
 * supernodes (DOPT__SP_BIG columns: 768 with AVX-512, else 256) are factored by recursive
 * halving whose big trailing products are packed once each (AVX-512: left-looking measured
 * faster up to about 700 columns, recursive from about 850; AVX2: recursive faster from 256).
 *
 * The lane batch: AVX-512, cube pose graph (256 poses, n = 1536, 131 supernodes, 228-column
 * root; double, bench/lanes_stats.c): per matrix 0.70x factor() and 0.28x solve().  The
 * plain-C 4-lane build keeps its lane structs in memory: on AVX2 (-march=x86-64-v3) the cube
 * batch took 11.1 s in lanes against 2.5 s one matrix at a time (4.4x slower), hence
 * DOPT_SPARSE_PLAIN_LANES.  The AVX2 vector lanes (4 doubles) lost too while GCC kept the
 * tile's sums in a stack array (zeroed by `rep stos`, 13% of the tile's time, and spilled);
 * with the tile loops unrolled (DOPT__SP_UNROLL) the sums are registers, and on a Zen 4 class
 * EPYC running x86-64-v3 code the cube batch of 256 (pgo_dopt --cube-batch, process CPU time,
 * best of 3-5 on a shared machine) took 1.36-1.49 s in lanes against 1.55-1.59 s one at a time
 * (lanes_stats: per matrix 0.72x factor() at 29.7 GFLOP/s, 0.39x solve(); before the unroll
 * 0.84x at 18.4 GFLOP/s); AVX-512 1.12-1.32 s (0.74x, 0.36x).  Past the last-level cache a big dense root runs faster one matrix at
 * a time (Theseus 1024-pose graphs, 1002-column root: 2.21 s in lanes, 2.10 s sequential), hence
 * DOPT__SP_LANE_MAX_BYTES.
 *
 * Knobs (define before including the implementation; defaults in parentheses):
 *   DOPT__SP_SMALL_UPDATE      flops below which an update runs inline (8192)
 *   DOPT__SP_FUSED_MAX         entries of a sending block up to which its update runs in
 *                              register tiles (131072)
 *   DOPT__SP_FUSED_MIN         rows from which an update runs in register tiles (one vector)
 *   DOPT__SP_LAPACK_MIN        entries of a supernode from which DOPT_USE_CBLAS factors it with
 *                              one LAPACK potrf + trsm (4194304)
 *   DOPT__SP_NB                panel width (64);  DOPT__SP_SYRK_NB: column blocks of the
 *                              trapezoidal products (64)
 *   DOPT__SP_NARROW            columns up to which a supernode is factored in one pass (12)
 *   DOPT__SP_BIG, DOPT__SP_LEAF  columns from which a supernode is factored by recursive
 *                              halving (768 with AVX-512, else 256), leaf width of that
 *                              recursion (256 with AVX-512, else 128)
 *   DOPT__SP_KC, DOPT__SP_MC   blocking of the recursion's packed products (256, 144)
 *   DOPT__SP_BATCH_INTERLEAVE  bytes of factors up to which a batch is interleaved (1 MiB)
 *   DOPT__SP_LNB               column blocks of the lane batch's supernode factorization (96;
 *                              48 to 240 within 5% on the cube's 228-column root)
 *   DOPT__SP_LANE_MAX_BYTES    lane factor storage beyond which reserve_batch declines the lane
 *                              batch (32 MiB)
 */
