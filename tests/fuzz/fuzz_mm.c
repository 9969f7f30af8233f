/* fuzz_mm.c — dopt_sparse_read_mm on arbitrary bytes (double and float).  Rule checked: a clean
 * status; on OK a valid CSC (column pointers from 0, nondecreasing, rows in range, increasing
 * within a column, the lower triangle when symmetric) with finite values; memory bounded by the
 * input's size; nothing leaked, exact free sizes. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_sparse.h"
#include "tests/fuzz/fuzz_common.h"

#define CHECK_CSC(A, finite_fn)                                                                  \
    do {                                                                                         \
        int j_, p_;                                                                              \
        FZ_ASSERT((A).nrows >= 0 && (A).ncols >= 0 && (A).p && (A).p[0] == 0, "csc header");    \
        for (j_ = 0; j_ < (A).ncols; ++j_) {                                                     \
            FZ_ASSERT((A).p[j_ + 1] >= (A).p[j_], "column pointers decrease");                   \
            for (p_ = (A).p[j_]; p_ < (A).p[j_ + 1]; ++p_) {                                     \
                FZ_ASSERT((A).i[p_] >= 0 && (A).i[p_] < (A).nrows, "row out of range");          \
                FZ_ASSERT(p_ == (A).p[j_] || (A).i[p_] > (A).i[p_ - 1], "rows not increasing");  \
                FZ_ASSERT(!(A).symmetric || (A).i[p_] >= j_, "symmetric entry above the diagonal"); \
            }                                                                                    \
        }                                                                                        \
        FZ_ASSERT((size_t)(A).p[(A).ncols] <= (A).nzmax, "more entries than capacity");          \
        FZ_ASSERT(finite_fn((A).p[(A).ncols], (A).x), "non-finite value with OK");               \
    } while (0)

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *path = fz_file(data, size, "mtx");
    dopt_sparse_csc_d A;
    dopt_sparse_csc_f Af;
    dopt_errinfo info;
    dopt_hooks h = fz_hooks(0);
    dopt_status st = dopt_sparse_read_mm_d(&h, path, &A, &info);
    FZ_ASSERT(st == DOPT_OK || st == DOPT_ERR_PARSE || st == DOPT_ERR_UNSUPPORTED || st == DOPT_ERR_NON_FINITE,
              "unexpected status");
    /* entries cost 16 bytes each while read, columns 4: bounded by the slack and the file */
    FZ_ASSERT(fz_fa.peak_bytes <= 4 * 65536 * 8 + 64 * (size_t)size, "memory out of proportion with the file");
    if (st == DOPT_OK) {
        CHECK_CSC(A, dopt_all_finite_d);
        dopt_sparse_csc_destroy_d(&A);
    } else {
        FZ_ASSERT(A.p == NULL && A.i == NULL && A.x == NULL, "failed read left arrays");
    }
    FZ_ASSERT(fa_clean(&fz_fa), "leak or wrong free size (double)");
    h = fz_hooks(0);
    st = dopt_sparse_read_mm_f(&h, path, &Af, &info);
    if (st == DOPT_OK) {
        CHECK_CSC(Af, dopt_all_finite_f);
        dopt_sparse_csc_destroy_f(&Af);
    }
    FZ_ASSERT(fa_clean(&fz_fa), "leak or wrong free size (float)");
    /* the last allocation of the clean run failing */
    if (fz_fa.calls > 0) {
        long last = fz_fa.calls;
        h = fz_hooks(last);
        st = dopt_sparse_read_mm_f(&h, path, &Af, &info);
        FZ_ASSERT(st != DOPT_OK, "OK after a failed allocation");
        FZ_ASSERT(fa_clean(&fz_fa), "leak after a failed allocation");
    }
    return 0;
}
