// bench/latency_ceres.cpp — Ceres' side of `make bench-latency`: the same tiny problems as
// bench/latency.c (data from bench/latency_data.h), solved one after another.
//   curve_fit  AutoDiffCostFunction<1, 2> per sample (Ceres' curve_fitting example)
//   pgo2d_10   AutoDiff residual of Ceres' pose_graph_2d example ([R_a^T (p_b - p_a) - p_z;
//              wrap(th_b - th_a - th_z)], weighted by the same square-root information), one
//              3-vector parameter block per pose, pose 0 constant
// Options: LM, DENSE_NORMAL_CHOLESKY (Ceres' choice for tiny problems), 1 thread, no logging,
// default tolerances.  All B problems are built before timing (Ceres' best case); the timed part
// is B calls of ceres::Solve from fresh starting values; us_per_solve = best over reps / B.
#include <ceres/ceres.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <vector>
extern "C" {
#include "latency_data.h"
}

struct ExpResidual {
    double t, y;
    template <class T> bool operator()(const T *x, T *r) const {
        r[0] = T(y) - exp(x[0] * T(t) + x[1]);
        return true;
    }
};

template <class T> T wrap_angle(const T &a) {
    const T two_pi(2.0 * M_PI);
    return a - two_pi * ceres::floor((a + T(M_PI)) / two_pi);
}

struct Se2Edge {
    double z[3];
    template <class T> bool operator()(const T *a, const T *b, T *r) const {
        T c = cos(a[2]), s = sin(a[2]), dx = b[0] - a[0], dy = b[1] - a[1];
        r[0] = T(LAT_PG_WT) * (c * dx + s * dy - T(z[0]));
        r[1] = T(LAT_PG_WT) * (-s * dx + c * dy - T(z[1]));
        r[2] = T(LAT_PG_WR) * wrap_angle(b[2] - a[2] - T(z[2]));
        return true;
    }
};

// DOPT_BENCH_CPU_TIME=1 (bench/latency.sh's default): process CPU time, as bench/latency.c
static double now_s() {
    static int cpu = -1;
    if (cpu < 0) cpu = std::getenv("DOPT_BENCH_CPU_TIME") && std::atoi(std::getenv("DOPT_BENCH_CPU_TIME")) != 0;
    if (cpu) {
        timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char **argv) {
    int reps = 20;
    if (argc > 2 && !std::strcmp(argv[1], "--reps")) reps = std::atoi(argv[2]);
    const int batches[4] = {1, 16, 256, 1024};
    ceres::Solver::Options opt;
    opt.linear_solver_type = ceres::DENSE_NORMAL_CHOLESKY;
    opt.num_threads = 1;
    opt.logging_type = ceres::SILENT;
    opt.minimizer_progress_to_stdout = false;
    for (int which = 0; which < 2; ++which)
        for (int bi = 0; bi < 4; ++bi) {
            int B = batches[bi], R = B >= 256 ? (reps + 3) / 4 : reps;
            int xdim = which == 0 ? 2 : 3 * LAT_PG_N;
            std::vector<double> x0((size_t)B * xdim), x((size_t)B * xdim);
            std::vector<std::unique_ptr<ceres::Problem>> probs;
            std::vector<double> curve(2 * LAT_CURVE_N);
            double t0 = now_s();
            for (int b = 0; b < B; ++b) {
                probs.emplace_back(new ceres::Problem);
                ceres::Problem &P = *probs.back();
                double *xb = &x[(size_t)b * xdim];
                if (which == 0) {
                    lat_curve_data(b, curve.data());
                    x0[(size_t)b * 2] = x0[(size_t)b * 2 + 1] = 0;
                    for (int k = 0; k < LAT_CURVE_N; ++k)
                        P.AddResidualBlock(new ceres::AutoDiffCostFunction<ExpResidual, 1, 2>(
                                               new ExpResidual{curve[2 * k], curve[2 * k + 1]}),
                                           nullptr, xb);
                } else {
                    double z[LAT_PG_E][3];
                    int ij[LAT_PG_E][2];
                    lat_pg_data(b, z, ij, &x0[(size_t)b * xdim]);
                    for (int e = 0; e < LAT_PG_E; ++e) {
                        Se2Edge *f = new Se2Edge;
                        std::memcpy(f->z, z[e], sizeof f->z);
                        P.AddResidualBlock(new ceres::AutoDiffCostFunction<Se2Edge, 3, 3, 3>(f), nullptr,
                                           xb + 3 * ij[e][0], xb + 3 * ij[e][1]);
                    }
                    P.SetParameterBlockConstant(xb);
                }
            }
            double setup = now_s() - t0, best = 1e300, its = 0, cost = 0;
            for (int r = 0; r < R; ++r) {
                x = x0;
                its = cost = 0;
                double ts = now_s();
                for (int b = 0; b < B; ++b) {
                    ceres::Solver::Summary sum;
                    ceres::Solve(opt, probs[b].get(), &sum);
                    its += sum.iterations.size() - 1;
                    cost += sum.final_cost;
                }
                double dt = now_s() - ts;
                if (dt < best) best = dt;
            }
            std::printf("result case=%s batch=%d us_per_solve=%.3f setup_us=%.3f iterations=%.2f cost=%.6g\n",
                        which == 0 ? "curve_fit" : "pgo2d_10", B, 1e6 * best / B, 1e6 * setup / B, its / B,
                        cost / B);
        }
    return 0;
}
