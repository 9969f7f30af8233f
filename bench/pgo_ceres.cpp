// bench/pgo_ceres.cpp — Ceres anchor of `make bench-pgo` (written for this bench from Ceres'
// documented API; the residuals follow Ceres' pose_graph_2d / pose_graph_3d examples).
//
//   pgo_ceres IN.g2o OUT.g2o [--max-iter N] [--fixed-iters] [--sqrt-example] [--layout split]
//   pgo_ceres --batch OUTDIR IN1.g2o IN2.g2o ...   (same options; solves the files one after
//                                                  another and prints one summed result line)
//
// IN is a normalized g2o file (bench/pgo_eval normalize: every vertex present, unit quaternions).
// Prints `result solver=ceres iterations=N initial_cost=X final_cost=Y time_s=T converged=yes|no`
// where time_s is the wall time of ceres::Solve only (file reading, problem construction and
// writing excluded) and costs are Ceres' own (1/2 sum ||S e||^2).  OUT gets VERTEX lines.
//
// Residuals (per edge i -> j with measurement z and information Lambda):
//   2D: e = [R(yaw_i)^T (p_j - p_i) - p_z ; wrap(yaw_j - yaw_i - yaw_z)]
//   3D: e = [R(q_i)^T (p_j - p_i) - p_z ; 2 vec(q_z * (q_i^-1 q_j)^-1)]
//   residual = S e.  Default S = U, the upper Cholesky factor with Lambda = U^T U, so that
//   ||S e||^2 = e^T Lambda e (the information-weighted cost every solver of the bench minimizes).
//   Ceres' examples use S = llt().matrixL() = L (Lambda = L L^T), i.e. weight L^T L, which is not
//   Lambda when Lambda has off-diagonal terms; --sqrt-example reproduces that.  Where Lambda is not
//   positive definite (cubicle.g2o: 5021 edges), the default uses S = D_+^{1/2} V^T from the
//   eigen-decomposition Lambda = V D V^T, i.e. weight by the PSD part of Lambda (the example's LLT
//   would give a meaningless factor there).
// Solver: LEVENBERG_MARQUARDT, SPARSE_NORMAL_CHOLESKY (SuiteSparse/CHOLMOD), num_threads = 1,
// max_num_iterations 100 (default tolerances).  Gauge: pose 0 held constant
// (SetParameterBlockConstant).  Parameter layout: one block per pose ([x y yaw] with
// Euclidean(2) x angle manifold; [p q] with Euclidean(3) x EigenQuaternionManifold); --layout
// split uses the examples' layout instead (2D: x, y, yaw blocks; 3D: p and q blocks).
// --fixed-iters zeroes the convergence tolerances so up to max-iter iterations run.
// --cpu-time times Solve with the process CPU time instead of the wall clock (the ragged case).
// Before the timed solve(s), a small sub-problem (poses 0..19) is solved untimed to pay one-time
// library start-up costs.
#include <ceres/ceres.h>
#include <ceres/product_manifold.h>
#include <ceres/version.h>

#include <Eigen/Cholesky>
#include <Eigen/Eigenvalues>
#include <Eigen/Core>
#include <Eigen/Geometry>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

template <typename T>
T WrapAngle(const T& a) {
  // (-pi, pi], works for Jets: a - 2 pi floor((a + pi) / 2 pi)
  const T two_pi(2.0 * M_PI);
  return a - two_pi * ceres::floor((a + T(M_PI)) / two_pi);
}

// yaw + delta, wrapped; the Jacobian of Plus is 1.
class AngleManifold final : public ceres::Manifold {
 public:
  int AmbientSize() const override { return 1; }
  int TangentSize() const override { return 1; }
  bool Plus(const double* x, const double* d, double* y) const override {
    y[0] = WrapAngle(x[0] + d[0]);
    return true;
  }
  bool PlusJacobian(const double*, double* j) const override {
    j[0] = 1.0;
    return true;
  }
  bool Minus(const double* y, const double* x, double* d) const override {
    d[0] = WrapAngle(y[0] - x[0]);
    return true;
  }
  bool MinusJacobian(const double*, double* j) const override {
    j[0] = 1.0;
    return true;
  }
};

struct Edge {
  int i, j;
  double t[3];
  double q[4];  // x y z w
  Eigen::Matrix<double, 6, 6> info;
};

struct Graph {
  int dim = 0;
  std::vector<double> x;  // stride 3 (x y yaw) or 7 (x y z qx qy qz qw)
  std::vector<Edge> edges;
  int stride() const { return dim == 2 ? 3 : 7; }
  int n() const { return static_cast<int>(x.size()) / stride(); }
};

bool ReadGraph(const std::string& path, Graph* g) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line, tag;
  std::vector<std::vector<double>> verts;
  std::vector<int> ids;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    if (!(ss >> tag)) continue;
    if (tag == "VERTEX_SE2" || tag == "VERTEX_SE3:QUAT") {
      g->dim = tag == "VERTEX_SE2" ? 2 : 3;
      int id;
      std::vector<double> v(g->stride());
      ss >> id;
      for (double& a : v) ss >> a;
      if (!ss) return false;
      ids.push_back(id);
      verts.push_back(v);
    } else if (tag == "EDGE_SE2" || tag == "EDGE_SE3:QUAT") {
      g->dim = tag == "EDGE_SE2" ? 2 : 3;
      Edge e;
      ss >> e.i >> e.j;
      int n = g->dim == 2 ? 3 : 6;
      e.info.setZero();
      e.q[0] = e.q[1] = e.q[2] = 0.0;
      e.q[3] = 1.0;
      for (int k = 0; k < 3; ++k) ss >> e.t[k];
      if (g->dim == 3)
        for (int k = 0; k < 4; ++k) ss >> e.q[k];
      for (int r = 0; r < n; ++r)
        for (int c = r; c < n; ++c) {
          ss >> e.info(r, c);
          e.info(c, r) = e.info(r, c);
        }
      if (!ss) return false;
      g->edges.push_back(e);
    } else {
      return false;
    }
  }
  g->x.assign(ids.size() * g->stride(), 0.0);
  for (size_t k = 0; k < ids.size(); ++k) {
    if (ids[k] < 0 || ids[k] >= static_cast<int>(ids.size())) return false;
    std::copy(verts[k].begin(), verts[k].end(), g->x.begin() + ids[k] * g->stride());
  }
  return true;
}

bool WriteGraph(const std::string& path, const Graph& g) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  for (int k = 0; k < g.n(); ++k) {
    const double* v = &g.x[k * g.stride()];
    if (g.dim == 2)
      std::fprintf(f, "VERTEX_SE2 %d %.17g %.17g %.17g\n", k, v[0], v[1], v[2]);
    else
      std::fprintf(f, "VERTEX_SE3:QUAT %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", k, v[0],
                   v[1], v[2], v[3], v[4], v[5], v[6]);
  }
  return std::fclose(f) == 0;
}

// ---- residuals ------------------------------------------------------------------------------

struct Residual2 {
  Residual2(const double* t, const Eigen::Matrix3d& s) : px(t[0]), py(t[1]), yaw(t[2]), S(s) {}
  template <typename T>
  bool Eval(const T& xa, const T& ya, const T& tha, const T& xb, const T& yb, const T& thb,
            T* r) const {
    const T c = ceres::cos(tha), s = ceres::sin(tha);
    const T dx = xb - xa, dy = yb - ya;
    Eigen::Matrix<T, 3, 1> e;
    e(0) = c * dx + s * dy - T(px);
    e(1) = -s * dx + c * dy - T(py);
    e(2) = WrapAngle(thb - tha - T(yaw));
    Eigen::Map<Eigen::Matrix<T, 3, 1>> out(r);
    out = S.template cast<T>() * e;
    return true;
  }
  double px, py, yaw;
  Eigen::Matrix3d S;
};

struct Residual2Merged : Residual2 {
  using Residual2::Residual2;
  template <typename T>
  bool operator()(const T* a, const T* b, T* r) const {
    return Eval(a[0], a[1], a[2], b[0], b[1], b[2], r);
  }
};

struct Residual2Split : Residual2 {
  using Residual2::Residual2;
  template <typename T>
  bool operator()(const T* xa, const T* ya, const T* tha, const T* xb, const T* yb, const T* thb,
                  T* r) const {
    return Eval(*xa, *ya, *tha, *xb, *yb, *thb, r);
  }
};

struct Residual3 {
  Residual3(const double* t, const double* q, const Eigen::Matrix<double, 6, 6>& s)
      : p_z(t[0], t[1], t[2]), q_z(q[3], q[0], q[1], q[2]), S(s) {}
  template <typename T>
  bool Eval(const T* pa_, const T* qa_, const T* pb_, const T* qb_, T* r) const {
    Eigen::Map<const Eigen::Matrix<T, 3, 1>> pa(pa_), pb(pb_);
    Eigen::Map<const Eigen::Quaternion<T>> qa(qa_), qb(qb_);  // Eigen storage: x y z w
    const Eigen::Quaternion<T> qa_inv = qa.conjugate();
    const Eigen::Quaternion<T> q_ab = qa_inv * qb;
    const Eigen::Matrix<T, 3, 1> p_ab = qa_inv * (pb - pa);
    const Eigen::Quaternion<T> dq = q_z.template cast<T>() * q_ab.conjugate();
    Eigen::Matrix<T, 6, 1> e;
    e.template head<3>() = p_ab - p_z.template cast<T>();
    e.template tail<3>() = T(2.0) * dq.vec();
    Eigen::Map<Eigen::Matrix<T, 6, 1>> out(r);
    out = S.template cast<T>() * e;
    return true;
  }
  Eigen::Vector3d p_z;
  Eigen::Quaterniond q_z;
  Eigen::Matrix<double, 6, 6> S;
  EIGEN_MAKE_ALIGNED_OPERATOR_NEW
};

struct Residual3Merged : Residual3 {
  using Residual3::Residual3;
  template <typename T>
  bool operator()(const T* a, const T* b, T* r) const {
    return Eval(a, a + 3, b, b + 3, r);
  }
};

struct Residual3Split : Residual3 {
  using Residual3::Residual3;
  template <typename T>
  bool operator()(const T* pa, const T* qa, const T* pb, const T* qb, T* r) const {
    return Eval(pa, qa, pb, qb, r);
  }
};

int g_not_pd = 0;  // edges whose information is not positive definite (counted, reported)

template <int N>
Eigen::Matrix<double, N, N> SqrtInfo(const Eigen::Matrix<double, 6, 6>& info6, bool example) {
  Eigen::Matrix<double, N, N> info = info6.template topLeftCorner<N, N>();
  Eigen::LLT<Eigen::Matrix<double, N, N>> llt(info);
  Eigen::Matrix<double, N, N> L = llt.matrixL();
  if (example) return L;  // Ceres' examples: residual L e (whatever LLT left when it failed)
  if (llt.info() == Eigen::Success)
    return L.transpose();  // U = L^T: ||U e||^2 = e^T L L^T e = e^T Lambda e
  // Not positive definite (cubicle.g2o has 5021 such edges: a planar problem whose z/roll/pitch
  // block is indefinite): weight with the PSD part of Lambda, S = D_+^{1/2} V^T.
  ++g_not_pd;
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix<double, N, N>> es(info);
  Eigen::Matrix<double, N, 1> d = es.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return d.asDiagonal() * es.eigenvectors().transpose();
}

struct Options {
  int max_iter = 100;
  bool fixed_iters = false;
  bool sqrt_example = false;
  bool split = false;
  bool cpu_time = false;  // --cpu-time: process CPU time of Solve instead of wall time
};

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

struct Result {
  int iterations = 0;
  double initial_cost = 0, final_cost = 0, time_s = 0;
  bool converged = false;
  std::string report;
};

bool Solve(Graph* g, const Options& opt, Result* res) {
  ceres::Problem::Options popt;
  popt.manifold_ownership = ceres::DO_NOT_TAKE_OWNERSHIP;
  ceres::Problem problem(popt);
  AngleManifold angle;
  ceres::ProductManifold<ceres::EuclideanManifold<2>, AngleManifold> pose2;
  ceres::EigenQuaternionManifold quat;
  ceres::ProductManifold<ceres::EuclideanManifold<3>, ceres::EigenQuaternionManifold> pose3;
  const int st = g->stride();
  double* x = g->x.data();
  for (const Edge& e : g->edges) {
    double* a = x + e.i * st;
    double* b = x + e.j * st;
    if (g->dim == 2) {
      Eigen::Matrix3d S = SqrtInfo<3>(e.info, opt.sqrt_example);
      if (opt.split)
        problem.AddResidualBlock(
            new ceres::AutoDiffCostFunction<Residual2Split, 3, 1, 1, 1, 1, 1, 1>(
                new Residual2Split(e.t, S)),
            nullptr, a, a + 1, a + 2, b, b + 1, b + 2);
      else
        problem.AddResidualBlock(
            new ceres::AutoDiffCostFunction<Residual2Merged, 3, 3, 3>(new Residual2Merged(e.t, S)),
            nullptr, a, b);
    } else {
      Eigen::Matrix<double, 6, 6> S = SqrtInfo<6>(e.info, opt.sqrt_example);
      if (opt.split)
        problem.AddResidualBlock(
            new ceres::AutoDiffCostFunction<Residual3Split, 6, 3, 4, 3, 4>(
                new Residual3Split(e.t, e.q, S)),
            nullptr, a, a + 3, b, b + 3);
      else
        problem.AddResidualBlock(new ceres::AutoDiffCostFunction<Residual3Merged, 6, 7, 7>(
                                     new Residual3Merged(e.t, e.q, S)),
                                 nullptr, a, b);
    }
  }
  for (int k = 0; k < g->n(); ++k) {
    double* a = x + k * st;
    if (g->dim == 2) {
      if (opt.split) {
        if (problem.HasParameterBlock(a + 2)) problem.SetManifold(a + 2, &angle);
      } else if (problem.HasParameterBlock(a)) {
        problem.SetManifold(a, &pose2);
      }
    } else {
      if (opt.split) {
        if (problem.HasParameterBlock(a + 3)) problem.SetManifold(a + 3, &quat);
      } else if (problem.HasParameterBlock(a)) {
        problem.SetManifold(a, &pose3);
      }
    }
  }
  // gauge: pose 0 constant
  if (opt.split) {
    const int nb = g->dim == 2 ? 3 : 2;
    for (int k = 0; k < nb; ++k) {
      double* blk = g->dim == 2 ? x + k : (k == 0 ? x : x + 3);
      if (problem.HasParameterBlock(blk)) problem.SetParameterBlockConstant(blk);
    }
  } else if (problem.HasParameterBlock(x)) {
    problem.SetParameterBlockConstant(x);
  }

  ceres::Solver::Options so;
  so.minimizer_type = ceres::TRUST_REGION;
  so.trust_region_strategy_type = ceres::LEVENBERG_MARQUARDT;
  so.linear_solver_type = ceres::SPARSE_NORMAL_CHOLESKY;
  so.sparse_linear_algebra_library_type = ceres::SUITE_SPARSE;
  so.num_threads = 1;
  so.max_num_iterations = opt.max_iter;
  so.logging_type = ceres::SILENT;
  so.minimizer_progress_to_stdout = false;
  if (opt.fixed_iters) {
    so.function_tolerance = 0.0;
    so.gradient_tolerance = 0.0;
    so.parameter_tolerance = 0.0;
  }
  std::string err;
  if (!so.IsValid(&err)) {
    std::fprintf(stderr, "pgo_ceres: bad options: %s\n", err.c_str());
    return false;
  }
  ceres::Solver::Summary sum;
  const double c0 = CpuSeconds();
  auto t0 = std::chrono::steady_clock::now();
  ceres::Solve(so, &problem, &sum);
  auto t1 = std::chrono::steady_clock::now();
  res->time_s = opt.cpu_time ? CpuSeconds() - c0 : std::chrono::duration<double>(t1 - t0).count();
  res->iterations = sum.num_successful_steps + sum.num_unsuccessful_steps;
  res->initial_cost = sum.initial_cost;
  res->final_cost = sum.final_cost;
  res->converged = sum.termination_type == ceres::CONVERGENCE;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "# ceres version=%s linear_solver=%s sparse_library=%s termination=%s "
                "successful_steps=%d unsuccessful_steps=%d ceres_total_time_s=%.6f "
                "linear_solver_time_s=%.6f residual_eval_s=%.6f jacobian_eval_s=%.6f",
                CERES_VERSION_STRING,
                ceres::LinearSolverTypeToString(sum.linear_solver_type_used),
                ceres::SparseLinearAlgebraLibraryTypeToString(
                    sum.sparse_linear_algebra_library_type),
                ceres::TerminationTypeToString(sum.termination_type), sum.num_successful_steps,
                sum.num_unsuccessful_steps, sum.total_time_in_seconds,
                sum.linear_solver_time_in_seconds, sum.residual_evaluation_time_in_seconds,
                sum.jacobian_evaluation_time_in_seconds);
  res->report = buf;
  return sum.IsSolutionUsable();
}

// Solves a small copy (poses 0..19 and the edges among them) untimed, so that one-time library
// start-up costs (BLAS/CHOLMOD initialization, first page faults) do not land in the timed solve.
void Warmup(const Graph& g, const Options& opt) {
  Graph w;
  w.dim = g.dim;
  const int m = std::min(g.n(), 20);
  w.x.assign(g.x.begin(), g.x.begin() + m * g.stride());
  for (const Edge& e : g.edges)
    if (e.i < m && e.j < m) w.edges.push_back(e);
  Result r;
  Solve(&w, opt, &r);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  std::vector<std::string> pos;
  bool batch = false;
  for (int k = 1; k < argc; ++k) {
    std::string a = argv[k];
    if (a == "--max-iter" && k + 1 < argc)
      opt.max_iter = std::atoi(argv[++k]);
    else if (a == "--fixed-iters")
      opt.fixed_iters = true;
    else if (a == "--sqrt-example")
      opt.sqrt_example = true;
    else if (a == "--layout" && k + 1 < argc)
      opt.split = std::string(argv[++k]) == "split";
    else if (a == "--batch")
      batch = true;
    else if (a == "--cpu-time")
      opt.cpu_time = true;
    else
      pos.push_back(a);
  }
  if ((!batch && pos.size() != 2) || (batch && pos.size() < 2)) {
    std::fprintf(stderr,
                 "usage: pgo_ceres IN.g2o OUT.g2o [options] | pgo_ceres --batch OUTDIR IN... "
                 "[options]\n");
    return 2;
  }
  if (!batch) {
    Graph g;
    if (!ReadGraph(pos[0], &g) || g.n() == 0) {
      std::fprintf(stderr, "pgo_ceres: cannot read %s\n", pos[0].c_str());
      return 1;
    }
    Warmup(g, opt);
    g_not_pd = 0;
    Result r;
    bool ok = Solve(&g, opt, &r);
    std::fprintf(stderr, "%s not_pd_information=%d\n", r.report.c_str(), g_not_pd);
    if (!WriteGraph(pos[1], g)) return 1;
    std::printf(
        "result solver=ceres iterations=%d initial_cost=%.10g final_cost=%.10g time_s=%.6f "
        "converged=%s\n",
        r.iterations, r.initial_cost, r.final_cost, r.time_s, r.converged ? "yes" : "no");
    return ok ? 0 : 1;
  }
  // batch: read everything first, then solve one after another
  std::vector<Graph> gs(pos.size() - 1);
  for (size_t k = 1; k < pos.size(); ++k)
    if (!ReadGraph(pos[k], &gs[k - 1]) || gs[k - 1].n() == 0) {
      std::fprintf(stderr, "pgo_ceres: cannot read %s\n", pos[k].c_str());
      return 1;
    }
  Warmup(gs[0], opt);
  Result tot;
  int nconv = 0;
  for (size_t k = 0; k < gs.size(); ++k) {
    Result r;
    Solve(&gs[k], opt, &r);
    tot.iterations += r.iterations;
    tot.initial_cost += r.initial_cost;
    tot.final_cost += r.final_cost;
    tot.time_s += r.time_s;
    nconv += r.converged;
    if (k == 0) std::fprintf(stderr, "%s\n", r.report.c_str());
    std::string base = pos[k + 1];
    size_t sl = base.find_last_of('/');
    if (sl != std::string::npos) base = base.substr(sl + 1);
    if (!WriteGraph(pos[0] + "/" + base, gs[k])) return 1;
  }
  std::printf(
      "result solver=ceres batch=%zu iterations=%d initial_cost=%.10g final_cost=%.10g "
      "time_s=%.6f converged=%d\n",
      gs.size(), tot.iterations, tot.initial_cost, tot.final_cost, tot.time_s, nconv);
  return 0;
}
