// bench/constrained_ceres.cpp — Ceres' side of bench/constrained.sh: the same bound-constrained
// curve fit (constrained_data.h), analytic derivatives (SizedCostFunction), LM, DENSE_QR,
// SetParameterLowerBound / UpperBound, one thread, CB_REPEAT solves from the same start (the
// Problem built once).  Prints `result solver=ceres ... time_s=<per solve> final_cost=...`.
#include <ceres/ceres.h>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <cstring>
extern "C" {
#include "constrained_data.h"
}

static double CpuSeconds() {  // process CPU time: the machine is shared
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

struct Model : public ceres::SizedCostFunction<1, 3> {
    double t, y;
    Model(double t_, double y_) : t(t_), y(y_) {}
    bool Evaluate(double const *const *x, double *r, double **J) const override {
        double e = std::exp(-x[0][1] * t);
        r[0] = x[0][0] * e + x[0][2] - y;
        if (J && J[0]) { J[0][0] = e; J[0][1] = -x[0][0] * t * e; J[0][2] = 1; }
        return true;
    }
};

int main() {
    static double t[CB_N], y[CB_N];
    double x[3];
    cb_data(t, y);
    ceres::Problem problem;
    for (int i = 0; i < CB_N; ++i) problem.AddResidualBlock(new Model(t[i], y[i]), nullptr, x);
    for (int k = 0; k < 3; ++k) {
        problem.SetParameterLowerBound(x, k, cb_lo[k]);
        problem.SetParameterUpperBound(x, k, cb_hi[k]);
    }
    ceres::Solver::Options o;
    o.linear_solver_type = ceres::DENSE_QR;
    o.num_threads = 1;
    o.max_num_iterations = 100;
    o.function_tolerance = 1e-10;
    o.gradient_tolerance = 1e-10;
    o.logging_type = ceres::SILENT;
    ceres::Solver::Summary sum;
    double best = 1e30;
    for (int r = 0; r < 5; ++r) {
        const double t0 = CpuSeconds();
        for (int i = 0; i < CB_REPEAT; ++i) {
            std::memcpy(x, cb_x0, sizeof x);
            ceres::Solve(o, &problem, &sum);
        }
        double dt = (CpuSeconds() - t0) / CB_REPEAT;
        if (dt < best) best = dt;
    }
    std::printf("result solver=ceres iterations=%d final_cost=%.12g time_s=%.9f x=%.10g,%.10g,%.10g converged=%d\n",
                (int)sum.iterations.size() - 1, sum.final_cost, best, x[0], x[1], x[2], sum.IsSolutionUsable() ? 1 : 0);
    return 0;
}
