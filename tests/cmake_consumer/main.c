/* tests/cmake_consumer/main.c — built against dopt by CMake and by pkg-config (tests/packaging.sh);
 * exits 0 when a 2x2 SPD solve and an SE(3) exp/log round trip give the right answers. */
#include "dopt.h"
#include "dopt_lie.h"
#include <math.h>
#include <stdio.h>
int main(void)
{
    double A[4] = {4, 2, 2, 3}, b[2] = {2, 1}, xi[6] = {0.1, -0.2, 0.3, 0.2, -0.1, 0.05}, g[7], back[6];
    int col, i;
    double err = 0;
    if (dopt_potrf_d(2, A, 2, &col) != DOPT_OK) return 1;
    dopt_potrs_d(2, 1, A, 2, b, 2);
    dopt_se3_exp_d(xi, g, NULL);
    dopt_se3_log_d(g, back, NULL);
    for (i = 0; i < 6; ++i) err = fmax(err, fabs(back[i] - xi[i]));
    printf("x = %g %g, se3 round trip %.1e, %s\n", b[0], b[1], err, dopt_status_string(DOPT_OK));
    return (fabs(b[0] - 0.5) < 1e-15 && fabs(b[1]) < 1e-15 && err < 1e-14) ? 0 : 1;
}
