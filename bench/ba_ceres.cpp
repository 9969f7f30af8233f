// bench/ba_ceres.cpp — Ceres anchor of `make bench-ba` (written for this bench from Ceres'
// documented API; the residual is the BAL camera model of Ceres' bundle_adjuster example:
// P = R(angle-axis) X + t, p = -P / P_z, r = f (1 + k1 |p|^2 + k2 |p|^4) p - observed).
//
//   ba_ceres FILE [--loss none|huber|cauchy] [--repeat N] [--covariance] [--log]
//
// Solver: LEVENBERG_MARQUARDT, SPARSE_SCHUR (SuiteSparse CHOLMOD), jacobi_scaling (default),
// num_threads = 1, default stopping rules (50 iterations, function 1e-6, gradient 1e-10,
// parameter 1e-8), automatic differentiation (as the example).  Prints
//   result solver=ceres iterations=N accepted=A initial_cost=X final_cost=Y time_s=T stop=...
// time_s: CPU time of problem construction + ceres::Solve (best of --repeat runs, each from the
// file's values); file reading excluded.  --covariance: cameras 0 and 1 constant (the gauge),
// then ceres::Covariance (SPARSE_QR, one thread) of every camera block:
//   covariance solver=ceres algorithm=SPARSE_QR cameras=N time_s=T trace_cam2=...
#include <ceres/ceres.h>
#include <ceres/rotation.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

struct Bal {
  int nc = 0, np = 0, no = 0;
  std::vector<int> cam, pt;
  std::vector<double> obs, cameras, points;
  bool Read(const char* path) {
    FILE* f = std::fopen(path, "r");
    if (!f) return false;
    if (std::fscanf(f, "%d %d %d", &nc, &np, &no) != 3) return false;
    cam.resize(no); pt.resize(no); obs.resize(2 * no);
    cameras.resize(9 * size_t(nc)); points.resize(3 * size_t(np));
    for (int i = 0; i < no; ++i)
      if (std::fscanf(f, "%d %d %lf %lf", &cam[i], &pt[i], &obs[2 * i], &obs[2 * i + 1]) != 4) return false;
    for (auto& v : cameras) if (std::fscanf(f, "%lf", &v) != 1) return false;
    for (auto& v : points) if (std::fscanf(f, "%lf", &v) != 1) return false;
    std::fclose(f);
    return true;
  }
};

struct Reprojection {
  Reprojection(double x, double y) : ox(x), oy(y) {}
  template <typename T>
  bool operator()(const T* const c, const T* const X, T* r) const {
    T P[3];
    ceres::AngleAxisRotatePoint(c, X, P);
    P[0] += c[3]; P[1] += c[4]; P[2] += c[5];
    const T px = -P[0] / P[2], py = -P[1] / P[2];
    const T n2 = px * px + py * py;
    const T d = T(1.0) + n2 * (c[7] + c[8] * n2);
    r[0] = c[6] * d * px - ox;
    r[1] = c[6] * d * py - oy;
    return true;
  }
  double ox, oy;
};

}  // namespace

int main(int argc, char** argv) {
  const char* file = nullptr;
  std::string loss = "none";
  int repeat = 1;
  bool cov = false, log = false;
  for (int a = 1; a < argc; ++a) {
    if (!std::strcmp(argv[a], "--loss") && a + 1 < argc) loss = argv[++a];
    else if (!std::strcmp(argv[a], "--repeat") && a + 1 < argc) repeat = std::atoi(argv[++a]);
    else if (!std::strcmp(argv[a], "--covariance")) cov = true;
    else if (!std::strcmp(argv[a], "--log")) log = true;
    else file = argv[a];
  }
  Bal b;
  if (!file || !b.Read(file)) { std::fprintf(stderr, "ba_ceres: cannot read %s\n", file ? file : "(none)"); return 1; }
  const std::vector<double> cam0 = b.cameras, pt0 = b.points;
  double best = 1e300;
  ceres::Solver::Summary best_sum;
  std::vector<double> cams, pts;
  for (int r = 0; r < (repeat < 1 ? 1 : repeat); ++r) {
    cams = cam0; pts = pt0;
    const double t0 = cpu_now();
    ceres::Problem problem;
    for (int i = 0; i < b.no; ++i) {
      ceres::LossFunction* lf = loss == "huber" ? static_cast<ceres::LossFunction*>(new ceres::HuberLoss(1.0))
                                : loss == "cauchy" ? static_cast<ceres::LossFunction*>(new ceres::CauchyLoss(1.0))
                                                   : nullptr;
      problem.AddResidualBlock(new ceres::AutoDiffCostFunction<Reprojection, 2, 9, 3>(
                                   new Reprojection(b.obs[2 * i], b.obs[2 * i + 1])),
                               lf, &cams[9 * size_t(b.cam[i])], &pts[3 * size_t(b.pt[i])]);
    }
    ceres::Solver::Options o;
    o.linear_solver_type = ceres::SPARSE_SCHUR;
    o.minimizer_type = ceres::TRUST_REGION;
    o.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
    o.jacobi_scaling = true;
    o.num_threads = 1;
    o.minimizer_progress_to_stdout = log && r == 0;
    ceres::Solver::Summary sum;
    ceres::Solve(o, &problem, &sum);
    const double t = cpu_now() - t0;
    if (t < best) { best = t; best_sum = sum; }
    if (log && r == 0) std::printf("%s\n", sum.FullReport().c_str());
  }
  std::printf("result solver=ceres iterations=%d accepted=%d initial_cost=%.17g final_cost=%.17g time_s=%.6f stop=%s\n",
              best_sum.num_successful_steps + best_sum.num_unsuccessful_steps, best_sum.num_successful_steps,
              best_sum.initial_cost, best_sum.final_cost, best,
              ceres::TerminationTypeToString(best_sum.termination_type));
  if (cov) {
    // covariance at the solution just found (cams, pts hold the last run's result)
    best = 1e300;
    double tr = 0, c00 = 0, c66 = 0;
    for (int r = 0; r < (repeat < 1 ? 1 : repeat); ++r) {
      const double t0 = cpu_now();
      ceres::Problem problem;
      for (int i = 0; i < b.no; ++i) {
        ceres::LossFunction* lf = loss == "huber" ? static_cast<ceres::LossFunction*>(new ceres::HuberLoss(1.0))
                                  : loss == "cauchy" ? static_cast<ceres::LossFunction*>(new ceres::CauchyLoss(1.0))
                                                     : nullptr;
        problem.AddResidualBlock(new ceres::AutoDiffCostFunction<Reprojection, 2, 9, 3>(
                                     new Reprojection(b.obs[2 * i], b.obs[2 * i + 1])),
                                 lf, &cams[9 * size_t(b.cam[i])], &pts[3 * size_t(b.pt[i])]);
      }
      problem.SetParameterBlockConstant(&cams[0]);
      if (b.nc > 1) problem.SetParameterBlockConstant(&cams[9]);
      ceres::Covariance::Options co;
      co.algorithm_type = ceres::SPARSE_QR;
      co.num_threads = 1;
      ceres::Covariance covariance(co);
      std::vector<std::pair<const double*, const double*>> blocks;
      for (int c = 0; c < b.nc; ++c) blocks.emplace_back(&cams[9 * size_t(c)], &cams[9 * size_t(c)]);
      const bool ok = covariance.Compute(blocks, &problem);
      std::vector<double> C(81 * size_t(b.nc), 0.0);
      if (ok)
        for (int c = 0; c < b.nc; ++c) covariance.GetCovarianceBlock(&cams[9 * size_t(c)], &cams[9 * size_t(c)], &C[81 * size_t(c)]);
      const double t = cpu_now() - t0;
      if (!ok) { std::printf("covariance solver=ceres algorithm=SPARSE_QR cameras=%d failed=yes\n", b.nc); return 0; }
      if (t < best) best = t;
      tr = 0;
      for (int k = 0; k < 9 && b.nc > 2; ++k) tr += C[81 * 2 + 10 * k];
      c00 = C[81 * 2]; c66 = C[81 * 2 + 60];
    }
    std::printf("covariance solver=ceres algorithm=SPARSE_QR cameras=%d time_s=%.6f trace_cam2=%.10g cam2_00=%.10g cam2_66=%.10g\n",
                b.nc, best, tr, c00, c66);
  }
  return 0;
}
