// bench/constrained_pgo_ceres.cpp — Ceres' side of bench/constrained.sh's boxed pose graph
// (bench/constrained_pgo.h: split layout p in R^3 + q with EigenQuaternionManifold, the residual of
// Ceres' pose_graph_3d example, pose 0 constant, 10% of the translations boxed with
// SetParameterLowerBound / UpperBound around their initial values).
//
//   constrained_pgo_ceres IN.g2o OUT.g2o
//
// Solver: LEVENBERG_MARQUARDT, SPARSE_NORMAL_CHOLESKY (SuiteSparse CHOLMOD), one thread, at most
// 100 iterations, function / gradient / parameter tolerance 1e-10 (dopt's side: the same).  The
// residual is autodiff (as the example); a diagonal information is applied as a diagonal (dopt's
// side does the same).  Problem built once; ceres::Solve run CP_REPEAT times from IN's values,
// process CPU time, the fastest kept.  Prints
//   result solver=ceres poses=.. boxed=.. iterations=.. final_cost=.. time_s=.. converged=yes|no
// and writes the final poses to OUT (VERTEX_SE3:QUAT lines).
#include <ceres/ceres.h>

#include <Eigen/Cholesky>
#include <Eigen/Core>
#include <Eigen/Geometry>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>
extern "C" {
#include "constrained_pgo.h"
}

namespace {

struct Edge {
  int i, j;
  double t[3], q[4];  // q: x y z w
  Eigen::Matrix<double, 6, 6> info;
};

bool Read(const std::string& path, std::vector<double>* x, std::vector<Edge>* edges) {
  std::ifstream in(path);
  std::string line, tag;
  std::vector<std::pair<int, std::vector<double>>> verts;
  if (!in) return false;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    if (!(ss >> tag)) continue;
    if (tag == "VERTEX_SE3:QUAT") {
      std::pair<int, std::vector<double>> v;
      v.second.resize(7);
      ss >> v.first;
      for (double& a : v.second) ss >> a;
      if (!ss) return false;
      verts.push_back(v);
    } else if (tag == "EDGE_SE3:QUAT") {
      Edge e;
      ss >> e.i >> e.j;
      for (double& a : e.t) ss >> a;
      for (double& a : e.q) ss >> a;
      for (int r = 0; r < 6; ++r)
        for (int c = r; c < 6; ++c) {
          ss >> e.info(r, c);
          e.info(c, r) = e.info(r, c);
        }
      if (!ss) return false;
      edges->push_back(e);
    } else {
      return false;
    }
  }
  x->assign(verts.size() * 7, 0.0);
  for (const auto& v : verts) {
    if (v.first < 0 || v.first >= static_cast<int>(verts.size())) return false;
    std::copy(v.second.begin(), v.second.end(), x->begin() + 7 * v.first);
  }
  return !verts.empty();
}

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

// U [R(q_i)^T (p_j - p_i) - p_z ; 2 vec(q_z (q_i^-1 q_j)^-1)], U = upper Cholesky factor of Lambda
struct Residual {
  Residual(const Edge& e)
      : p_z(e.t[0], e.t[1], e.t[2]), q_z(e.q[3], e.q[0], e.q[1], e.q[2]) {
    Eigen::LLT<Eigen::Matrix<double, 6, 6>> llt(e.info);
    S = llt.matrixL().transpose();
    diagonal = S.isDiagonal(0.0);
  }
  template <typename T>
  bool operator()(const T* pa_, const T* qa_, const T* pb_, const T* qb_, T* r) const {
    Eigen::Map<const Eigen::Matrix<T, 3, 1>> pa(pa_), pb(pb_);
    Eigen::Map<const Eigen::Quaternion<T>> qa(qa_), qb(qb_);
    const Eigen::Quaternion<T> qa_inv = qa.conjugate();
    const Eigen::Quaternion<T> dq = q_z.template cast<T>() * (qa_inv * qb).conjugate();
    Eigen::Matrix<T, 6, 1> e;
    e.template head<3>() = qa_inv * (pb - pa) - p_z.template cast<T>();
    e.template tail<3>() = T(2.0) * dq.vec();
    Eigen::Map<Eigen::Matrix<T, 6, 1>> out(r);
    if (diagonal)
      for (int k = 0; k < 6; ++k) out(k) = S(k, k) * e(k);
    else
      out = S.template cast<T>() * e;
    return true;
  }
  Eigen::Vector3d p_z;
  Eigen::Quaterniond q_z;
  Eigen::Matrix<double, 6, 6> S;
  bool diagonal;
  EIGEN_MAKE_ALIGNED_OPERATOR_NEW
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: constrained_pgo_ceres IN.g2o OUT.g2o\n");
    return 2;
  }
  std::vector<double> x0, x;
  std::vector<Edge> edges;
  if (!Read(argv[1], &x0, &edges)) {
    std::fprintf(stderr, "constrained_pgo_ceres: cannot read %s\n", argv[1]);
    return 1;
  }
  const int n = static_cast<int>(x0.size() / 7);
  x = x0;
  ceres::Problem::Options popt;
  popt.manifold_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::Problem problem(popt);
  ceres::EigenQuaternionManifold quat;
  for (const Edge& e : edges)
    problem.AddResidualBlock(new ceres::AutoDiffCostFunction<Residual, 6, 3, 4, 3, 4>(new Residual(e)),
                             nullptr, &x[7 * e.i], &x[7 * e.i + 3], &x[7 * e.j], &x[7 * e.j + 3]);
  int boxed = 0;
  for (int k = 0; k < n; ++k) {
    double* p = &x[7 * k];
    if (problem.HasParameterBlock(p + 3)) problem.SetManifold(p + 3, &quat);
    if (k > 0 && cp_boxed(k) && problem.HasParameterBlock(p)) {
      for (int r = 0; r < 3; ++r) {
        problem.SetParameterLowerBound(p, r, x0[7 * k + r] - CP_BOX_HALF);
        problem.SetParameterUpperBound(p, r, x0[7 * k + r] + CP_BOX_HALF);
      }
      ++boxed;
    }
  }
  problem.SetParameterBlockConstant(&x[0]);
  problem.SetParameterBlockConstant(&x[3]);
  ceres::Solver::Options so;
  so.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  so.linear_solver_type = ceres::SPARSE_NORMAL_CHOLESKY;
  so.sparse_linear_algebra_library_type = ceres::SUITE_SPARSE;
  so.num_threads = 1;
  so.max_num_iterations = 100;
  so.function_tolerance = 1e-10;
  so.gradient_tolerance = 1e-10;
  so.parameter_tolerance = 1e-10;
  so.logging_type = ceres::SILENT;
  ceres::Solver::Summary sum;
  double best = 1e30;
  for (int rep = 0; rep < CP_REPEAT; ++rep) {
    std::copy(x0.begin(), x0.end(), x.begin());
    const double t0 = CpuSeconds();
    ceres::Solve(so, &problem, &sum);
    const double t = CpuSeconds() - t0;
    if (t < best) best = t;
  }
  std::fprintf(stderr, "# ceres %s\n", sum.BriefReport().c_str());
  std::printf("result solver=ceres poses=%d boxed=%d iterations=%d final_cost=%.12g time_s=%.6f converged=%s\n", n,
              boxed, sum.num_successful_steps + sum.num_unsuccessful_steps, sum.final_cost, best,
              sum.termination_type == ceres::CONVERGENCE ? "yes" : "no");
  FILE* f = std::fopen(argv[2], "w");
  if (!f) return 1;
  for (int k = 0; k < n; ++k) {
    const double* v = &x[7 * k];
    std::fprintf(f, "VERTEX_SE3:QUAT %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", k, v[0], v[1], v[2], v[3],
                 v[4], v[5], v[6]);
  }
  for (const Edge& e : edges) {
    std::fprintf(f, "EDGE_SE3:QUAT %d %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g", e.i, e.j, e.t[0], e.t[1],
                 e.t[2], e.q[0], e.q[1], e.q[2], e.q[3]);
    for (int r = 0; r < 6; ++r)
      for (int c = r; c < 6; ++c) std::fprintf(f, " %.17g", e.info(r, c));
    std::fprintf(f, "\n");
  }
  return std::fclose(f) == 0 ? 0 : 1;
}
