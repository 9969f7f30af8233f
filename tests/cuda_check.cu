// dopt_cuda.cuh (and through it dopt.h, implementation included) compiled by nvcc.
#define DOPT_IMPLEMENTATION
#include "dopt_cuda.cuh"
int dopt_cuda_check_anchor(void) { return (int)DOPT_OK; }
