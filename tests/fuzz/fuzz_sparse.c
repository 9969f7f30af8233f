/* fuzz_sparse.c — the sparse analysis and factorization on random patterns and hostile values
 * (NaN, Inf, 0, 1e±300 among diagonally dominant ones), float and double, batches of 1..3.
 * Rule checked: analyze gives OK or INVALID_ARGUMENT (with a bad pattern or permutation only);
 * a factor element reported OK (fail_col -1) has finite storage; a failed one names a column in
 * range (or -2 for non-finite input); solve_backward's OK means finite gradients; nothing leaked,
 * exact free sizes. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include "tests/fuzz/fuzz_common.h"

#define FZ_N 24
#define FZ_NZ (FZ_N * 8)

#define RUN_PRECISION(R, SUF)                                                                     \
    do {                                                                                          \
        dopt_sparse_numeric_##SUF *F = NULL;                                                      \
        R Ax[3 * FZ_NZ], B[FZ_N], x[FZ_N], gb[FZ_N], gA[FZ_NZ];                                   \
        int b_, q_;                                                                               \
        for (b_ = 0; b_ < 3 * S->nnz_a; ++b_) Ax[b_] = (R)vals[b_ % (3 * FZ_NZ)];                 \
        if (dopt_sparse_numeric_create_##SUF(S, batch, &F) != DOPT_OK) break;                     \
        st = dopt_sparse_factor_batch_##SUF(F, batch, Ax, S->nnz_a, &info);                       \
        for (b_ = 0; b_ < batch; ++b_) {                                                          \
            int fc = F->fail_col[b_];                                                             \
            FZ_ASSERT(fc == -1 || fc == -2 || (fc >= 0 && fc < n), "fail_col out of range");      \
            if (fc == -1) {                                                                       \
                FZ_ASSERT(dopt_all_finite_##SUF((int)S->nnz_storage, F->x + (size_t)b_ * S->nnz_storage), \
                          "OK factor with non-finite entries");                                  \
                for (q_ = 0; q_ < n; ++q_) { B[q_] = (R)1; x[q_] = (R)1; }                        \
                dopt_sparse_solve_element_##SUF(F, b_, 1, B, n);                                  \
                if (dopt_sparse_solve_backward_##SUF(F, b_, x, B, gb, gA) == DOPT_OK) {           \
                    FZ_ASSERT(dopt_all_finite_##SUF(n, gb) && dopt_all_finite_##SUF(S->nnz_a, gA), \
                              "solve_backward OK with non-finite output");                        \
                }                                                                                 \
            }                                                                                     \
        }                                                                                         \
        FZ_ASSERT(st != DOPT_OK || F->fail_col[0] == -1, "factor_batch OK with a failed element"); \
        dopt_sparse_numeric_destroy_##SUF(F);                                                        \
    } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    fz_in in = {data, size, 0};
    int n = 1 + (int)(fz_u8(&in) % FZ_N), batch = 1 + (int)(fz_u8(&in) % 3), j, k, nz = 0, bad = 0;
    int Ap[FZ_N + 1], Ai[FZ_NZ], perm[FZ_N];
    double vals[3 * FZ_NZ];
    unsigned mode = fz_u8(&in);
    dopt_uplo uplo = (mode & 1) ? DOPT_UPPER : DOPT_LOWER;
    dopt_sparse_options o;
    dopt_sparse_symbolic *S = NULL;
    dopt_errinfo info;
    dopt_hooks h = fz_hooks(0);
    dopt_status st;
    memset(&o, 0, sizeof o);
    o.ordering = (dopt_sparse_ordering)((mode >> 1) % 3);
    if (o.ordering == DOPT_SPARSE_ORDER_USER) { /* a permutation, spoiled now and then */
        for (j = 0; j < n; ++j) perm[j] = j;
        for (j = n - 1; j > 0; --j) {
            int r = (int)(fz_u8(&in) % (unsigned)(j + 1)), t = perm[j];
            perm[j] = perm[r];
            perm[r] = t;
        }
        if (mode & 8) { perm[0] = perm[n - 1]; bad = n > 1; }
        o.user_perm = perm;
    }
    if (mode & 16) o.relax_cols[0] = (int)fz_u8(&in) - 8;
    if (mode & 32) o.relax_zeros[0] = fz_real(&in);
    Ap[0] = 0;
    for (j = 0; j < n; ++j) {
        int cnt = (int)(fz_u8(&in) % 6);
        if (nz < FZ_NZ) Ai[nz++] = j; /* the diagonal */
        for (k = 0; k < cnt && nz < FZ_NZ; ++k) Ai[nz++] = (int)(fz_u8(&in) % (unsigned)n);
        Ap[j + 1] = nz;
    }
    if ((mode & 64) && nz > 0) { Ai[nz - 1] = n + 3; bad = 1; } /* a row out of range */
    for (k = 0; k < 3 * FZ_NZ; ++k) vals[k] = (fz_u8(&in) % 4 == 0) ? fz_real(&in) : 1 + fz_mild(&in) / 16;
    for (k = 0; k < 3 * FZ_NZ; ++k) { /* dominant diagonals unless hostile values spoil them */
        int e = k % FZ_NZ;
        if (e < nz && Ai[e] < n) {
            int col = 0;
            while (col < n && Ap[col + 1] <= e) ++col;
            if (Ai[e] == col && vals[k] == vals[k] && fabs(vals[k]) < 1e6) vals[k] += 16;
        }
    }
    st = dopt_sparse_analyze(&h, n, Ap, Ai, uplo, &o, &S, &info);
    if (bad) FZ_ASSERT(st == DOPT_ERR_INVALID_ARGUMENT, "a bad pattern or permutation accepted");
    FZ_ASSERT(st == DOPT_OK || st == DOPT_ERR_INVALID_ARGUMENT, "unexpected analyze status");
    if (st == DOPT_OK) {
        FZ_ASSERT(S != NULL && S->n == n, "symbolic object");
        RUN_PRECISION(double, d);
        RUN_PRECISION(float, f);
        dopt_sparse_symbolic_destroy(S);
    }
    FZ_ASSERT(fa_clean(&fz_fa), "leak or wrong free size");
    /* the same analysis with its k-th allocation failing */
    if (st == DOPT_OK && fz_fa.calls > 0) {
        long k2 = 1 + (long)(fz_u8(&in) % (unsigned)fz_fa.calls);
        h = fz_hooks(k2);
        S = NULL;
        st = dopt_sparse_analyze(&h, n, Ap, Ai, uplo, &o, &S, &info);
        if (st == DOPT_OK) dopt_sparse_symbolic_destroy(S);
        FZ_ASSERT(st == DOPT_OK || st == DOPT_ERR_ALLOCATION, "allocation failure gave another status");
        FZ_ASSERT(fa_clean(&fz_fa), "leak after a failed allocation");
    }
    return 0;
}
