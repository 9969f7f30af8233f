/* dopt_cuda.cuh — optional CUDA batch kernels for dopt (Lie groups, small dense factorizations,
 * batched least-squares pieces).
 *
 * STATUS: planned.  The header compiles with nvcc (make test checks it where nvcc exists) and
 * declares no kernels yet.  Conventions when it grows: same names as the CPU functions with a
 * `_cuda` infix, device pointers in, a cudaStream_t argument, the same dopt_status results; CPU
 * code never depends on this file.
 */
#ifndef DOPT_CUDA_CUH
#define DOPT_CUDA_CUH
#include "dopt.h"
#endif /* DOPT_CUDA_CUH */
