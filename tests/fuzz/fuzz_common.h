/* fuzz_common.h — shared by the libFuzzer targets in tests/fuzz/ (`make fuzz`).
 * Each target defines LLVMFuzzerTestOneInput and checks the project's rule on every input: no
 * crash, no sanitizer report, no leak or wrong free size (tests/fail_alloc.h), and no DOPT_OK
 * with a non-finite or inconsistent result (FZ_ASSERT aborts, which libFuzzer reports as a
 * crash with the input saved). */
#ifndef DOPT_FUZZ_COMMON_H
#define DOPT_FUZZ_COMMON_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include "tests/fail_alloc.h"

#define FZ_ASSERT(cond, what)                                                                    \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz rule broken: %s (%s:%d)\n", what, __FILE__, __LINE__);         \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* a byte stream: bytes past the end read as 0 */
typedef struct fz_in { const unsigned char *p; size_t n, k; } fz_in;
static unsigned fz_u8(fz_in *in) { return in->k < in->n ? in->p[in->k++] : 0u; }
static unsigned fz_u16(fz_in *in) { unsigned a = fz_u8(in); return a | (fz_u8(in) << 8); }

/* a hostile real: NaN, ±Inf, 0, -0, 1e±300, 1e±30, or a modest value from the bytes */
static double fz_real(fz_in *in)
{
    unsigned c = fz_u8(in);
    switch (c % 16) {
    case 0: return NAN;
    case 1: return INFINITY;
    case 2: return -INFINITY;
    case 3: return 0.0;
    case 4: return -0.0;
    case 5: return 1e300;
    case 6: return -1e300;
    case 7: return 1e-300;
    case 8: return 1e30;
    case 9: return 1e-30;
    default: return ((double)fz_u16(in) - 32768.0) / 4096.0;
    }
}

/* a benign real in [-8, 8) */
static double fz_mild(fz_in *in) { return ((double)fz_u16(in) - 32768.0) / 4096.0; }

/* the input written to a file of this process (the readers take paths) */
static __attribute__((unused)) const char *fz_file(const unsigned char *data, size_t size, const char *ext)
{
    static char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/dopt_fuzz_%ld.%s", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid(), ext);
    f = fopen(path, "wb");
    if (!f) abort();
    if (size && fwrite(data, 1, size, f) != size) abort();
    fclose(f);
    return path;
}

static fail_alloc fz_fa; /* the checking allocator's state (a fuzz target, not the library) */

/* a fresh checking allocator that fails allocation number fail_at (0: none) */
static dopt_hooks fz_hooks(long fail_at)
{
    fa_reset(&fz_fa, fail_at);
    return fa_hooks(&fz_fa);
}
#endif
