/* bench/constrained_data.h — the bound-constrained curve fit of bench/constrained.sh, shared by
 * dopt's and Ceres' programs (plain C, one integer generator, so both fit identical data):
 *   y_i = a exp(-b t_i) + c + noise,  a = 2, b = 0.8, c = 0.3,  t_i = 4 i / N,
 *   bounds 0 <= a <= 10,  0 <= b <= 0.5 (active at the solution),  -1 <= c <= 1,
 *   start (1, 0.1, 0). */
#ifndef BENCH_CONSTRAINED_DATA_H
#define BENCH_CONSTRAINED_DATA_H
#define CB_N 2000
#define CB_REPEAT 200
static const double cb_lo[3] = {0, 0, -1}, cb_hi[3] = {10, 0.5, 1}, cb_x0[3] = {1, 0.1, 0};
static void cb_data(double *t, double *y)
{
    unsigned long long s = 12345;
    int i;
    for (i = 0; i < CB_N; ++i) {
        double u;
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
        t[i] = 4.0 * i / CB_N;
        y[i] = 2.0 * exp(-0.8 * t[i]) + 0.3 + 0.02 * u;
    }
}
#endif
