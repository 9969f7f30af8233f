// Every dopt header compiled as C++ with the implementation, plus a smoke run.
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_lie.h"
#include "dopt_sparse.h"
#include "dopt_mpc.h"
#include "dopt_deq.h"
#include <cstdio>
int main()
{
    double A[4] = {4, 2, 2, 3}, b[2] = {2, 1};
    int col;
    if (dopt_potrf_d(2, A, 2, &col) != DOPT_OK) return 1;
    dopt_potrs_d(2, 1, A, 2, b, 2);
    return (std::fabs(b[0] - 0.5) < 1e-15 && std::fabs(b[1]) < 1e-15) ? 0 : 1;
}
