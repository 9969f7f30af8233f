/* bench/lie_dopt.c — dopt's side of `make bench-lie`: the implementation of dopt_lie.h compiled as
 * C99 with bench_cflags; the driver (lie_bench.cpp) calls its batched functions. */
#define DOPT_IMPLEMENTATION
#include "dopt_lie.h"
