/* bench/latency_data.h — the data of the latency bench, shared by bench/latency.c (dopt) and
 * bench/latency_ceres.cpp (Ceres), so both solve identical problems.  Plain C. */
#ifndef LATENCY_DATA_H
#define LATENCY_DATA_H
#include <math.h>

/* a tiny deterministic generator (splitmix64 + Box-Muller), independent of either library */
static unsigned long long lat_state;
static double lat_uniform(void)
{
    unsigned long long z = (lat_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static double lat_normal(void)
{
    double u = lat_uniform(), v = lat_uniform();
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

#define LAT_CURVE_N 20
/* element b: pairs (t, y), y = exp(m t + c) + 0.05 N(0,1), m = 0.3 + 0.001 b mod, c = 0.1 */
static void lat_curve_data(int b, double *ty)
{
    int i;
    double m = 0.3 + 0.001 * (b % 100), c = 0.1;
    lat_state = 1000003ull * (unsigned long long)(b + 1);
    for (i = 0; i < LAT_CURVE_N; ++i) {
        double t = 5.0 * i / LAT_CURVE_N;
        ty[2 * i] = t;
        ty[2 * i + 1] = exp(m * t + c) + 0.05 * lat_normal();
    }
}

#define LAT_PG_N 10
#define LAT_PG_E 13
#define LAT_PG_WT 10.0  /* square-root information: translation 1/0.1 */
#define LAT_PG_WR 20.0  /* rotation 1/0.05 */
static double lat_wrap(double t)
{
    while (t > 3.141592653589793) t -= 6.283185307179586;
    while (t <= -3.141592653589793) t += 6.283185307179586;
    return t;
}
/* element b: 10 poses on a circle of radius 3; edges i -> i+1 (mod 10) and 0->4, 2->7, 5->9
 * with measurement = truth + N(0, 0.1 / 0.05); start = truth + N(0, 0.2 / 0.1) (pose 0 exact) */
static void lat_pg_data(int b, double z[LAT_PG_E][3], int ij[LAT_PG_E][2], double *x0)
{
    double truth[LAT_PG_N][3];
    int i, e;
    static const int lc[3][2] = {{0, 4}, {2, 7}, {5, 9}};
    lat_state = 7000003ull * (unsigned long long)(b + 1);
    for (i = 0; i < LAT_PG_N; ++i) {
        double a = 6.283185307179586 * i / LAT_PG_N;
        truth[i][0] = 3 * cos(a);
        truth[i][1] = 3 * sin(a);
        truth[i][2] = lat_wrap(a + 1.5707963267948966);
    }
    for (e = 0; e < LAT_PG_E; ++e) {
        int a = e < LAT_PG_N ? e : lc[e - LAT_PG_N][0], c = e < LAT_PG_N ? (e + 1) % LAT_PG_N : lc[e - LAT_PG_N][1];
        double dx = truth[c][0] - truth[a][0], dy = truth[c][1] - truth[a][1], ca = cos(truth[a][2]), sa = sin(truth[a][2]);
        ij[e][0] = a;
        ij[e][1] = c;
        z[e][0] = ca * dx + sa * dy + 0.1 * lat_normal();
        z[e][1] = -sa * dx + ca * dy + 0.1 * lat_normal();
        z[e][2] = lat_wrap(truth[c][2] - truth[a][2] + 0.05 * lat_normal());
    }
    for (i = 0; i < LAT_PG_N; ++i) {
        double s = i == 0 ? 0 : 1;
        x0[3 * i] = truth[i][0] + s * 0.2 * lat_normal();
        x0[3 * i + 1] = truth[i][1] + s * 0.2 * lat_normal();
        x0[3 * i + 2] = lat_wrap(truth[i][2] + s * 0.1 * lat_normal());
    }
}
#endif
