// bench/lie_bench.cpp — `make bench-lie` driver: dopt_lie.h against Ceres' rotation.h and Eigen's
// Quaternion/AngleAxis on the same 1e6 random inputs (double, one thread).  Each operation runs
// over the whole batch, best of REPS runs, and prints
//   bench lie <op> n=... dopt_ns=... ceres_ns=... eigen_ns=... ratio=<dopt / faster anchor> maxdiff=...
// (ns per element).  Jacobian variants: dopt's analytic tangent Jacobians against Ceres' Jet
// (forward-mode autodiff, the way Ceres users get these derivatives); Eigen has none, eigen_ns=NA.
// Layouts are converted before timing (Ceres quaternions are [w x y z], Eigen and dopt [x y z w]).
#include <ceres/rotation.h>
#include <ceres/jet.h>
#include <ceres/version.h>
#include <Eigen/Geometry>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <vector>
#include "dopt_lie.h"

typedef std::chrono::steady_clock clk;
static int REPS = 5;

// Best-of-REPS time per element of each competitor, the competitors interleaved within every
// repetition so that a noisy neighbour on the machine hits them alike.
// DOPT_BENCH_CPU_TIME=1 (bench/lie.sh's default): process CPU time instead of the wall clock (a
// shared machine's other jobs then cost only what they take of the caches and memory bandwidth).
static int cpu_time()
{
    static int c = -1;
    if (c < 0) c = std::getenv("DOPT_BENCH_CPU_TIME") && std::atoi(std::getenv("DOPT_BENCH_CPU_TIME")) != 0;
    return c;
}
static double cpu_ns()
{
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return 1e9 * (double)ts.tv_sec + (double)ts.tv_nsec;
}
template <class F> static double time_ns(long n, F f)
{
    if (cpu_time()) {
        double c0 = cpu_ns();
        f();
        return (cpu_ns() - c0) / (double)n;
    }
    clk::time_point t0 = clk::now();
    f();
    return std::chrono::duration<double, std::nano>(clk::now() - t0).count() / (double)n;
}
template <class A, class B, class C> static void best3(long n, A fa, B fb, C fc, double *a, double *b, double *c)
{
    *a = *b = *c = 1e30;
    for (int r = 0; r < REPS; ++r) {
        *a = std::fmin(*a, time_ns(n, fa));
        *b = std::fmin(*b, time_ns(n, fb));
        *c = std::fmin(*c, time_ns(n, fc));
    }
}
template <class A, class B> static void best2(long n, A fa, B fb, double *a, double *b)
{
    *a = *b = 1e30;
    for (int r = 0; r < REPS; ++r) {
        *a = std::fmin(*a, time_ns(n, fa));
        *b = std::fmin(*b, time_ns(n, fb));
    }
}

static void line(const char *op, long n, double d, double c, double e, double maxdiff)
{
    double anchor = c < e ? c : e;
    std::printf("bench lie %s n=%ld dopt_ns=%.2f ceres_ns=%.2f ", op, n, d, c);
    if (e < 1e29) std::printf("eigen_ns=%.2f ", e); else std::printf("eigen_ns=NA ");
    std::printf("ratio=%.3f", d / anchor);
    if (maxdiff >= 0) std::printf(" maxdiff=%.2g", maxdiff);
    std::printf("\n");
    std::fflush(stdout);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? std::atol(argv[1]) : 1000000;
    if (argc > 2) REPS = std::atoi(argv[2]);
    dopt_rng rng;
    dopt_rng_seed(&rng, 2024, 0);
    // inputs: rotation vectors (angle up to π), unit quaternions in both layouts, points, translations
    std::vector<double> w(3 * n), qa(4 * n), qb(4 * n), qa_c(4 * n), qb_c(4 * n), p(3 * n), ta(3 * n), tb(3 * n);
    for (long i = 0; i < n; ++i) {
        double ax[3], nn = 0, ang = 3.14159265358979 * dopt_rng_uniform_d(&rng);
        for (int k = 0; k < 3; ++k) { ax[k] = dopt_rng_normal_d(&rng); nn += ax[k] * ax[k]; }
        nn = std::sqrt(nn);
        for (int k = 0; k < 3; ++k) w[3 * i + k] = ang * ax[k] / nn;
        dopt_so3_random_d(&rng, &qa[4 * i]);
        dopt_so3_random_d(&rng, &qb[4 * i]);
        dopt_so3_to_quaternion_wxyz_d(&qa[4 * i], &qa_c[4 * i]);
        dopt_so3_to_quaternion_wxyz_d(&qb[4 * i], &qb_c[4 * i]);
        for (int k = 0; k < 3; ++k) {
            p[3 * i + k] = dopt_rng_normal_d(&rng);
            ta[3 * i + k] = dopt_rng_normal_d(&rng);
            tb[3 * i + k] = dopt_rng_normal_d(&rng);
        }
    }
    // SE3 elements [t; q] for dopt
    std::vector<double> ga(7 * n), gb(7 * n);
    for (long i = 0; i < n; ++i)
        for (int k = 0; k < 3; ++k) {
            ga[7 * i + k] = ta[3 * i + k]; gb[7 * i + k] = tb[3 * i + k];
            ga[7 * i + 3 + k] = qa[4 * i + k]; gb[7 * i + 3 + k] = qb[4 * i + k];
            if (k == 2) { ga[7 * i + 6] = qa[4 * i + 3]; gb[7 * i + 6] = qb[4 * i + 3]; }
        }
    std::vector<double> od(36 * n), oc(36 * n), oe(8 * n), jd(18 * n), jd2(18 * n);
    double *W = w.data(), *QA = qa.data(), *QB = qb.data(), *QAc = qa_c.data(), *QBc = qb_c.data(), *P = p.data();
    double *TA = ta.data(), *TB = tb.data(), *GA = ga.data(), *GB = gb.data();
    double *OD = od.data(), *OC = oc.data(), *OE = oe.data(), *JD = jd.data(), *JD2 = jd2.data();

    std::printf("# n=%ld reps=%d; anchors: ceres %s (rotation.h, Jet), eigen %d.%d.%d\n", n, REPS,
                CERES_VERSION_STRING, EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION);

    // ---- so3 exp: rotation vector -> quaternion ----
    {
        double d, c, e;
        best3(n, [&] { dopt_so3_exp_batch_d(n, W, 3, OD, 4, NULL); },
            [&] { for (long i = 0; i < n; ++i) ceres::AngleAxisToQuaternion(W + 3 * i, OC + 4 * i); },
            [&] {
            for (long i = 0; i < n; ++i) {
                Eigen::Map<const Eigen::Vector3d> v(W + 3 * i);
                double th = v.norm();
                Eigen::Quaterniond q = th > 0 ? Eigen::Quaterniond(Eigen::AngleAxisd(th, v / th)) : Eigen::Quaterniond::Identity();
                Eigen::Map<Eigen::Vector4d>(OE + 4 * i) = q.coeffs();
            }
        }, &d, &c, &e);
        double md = 0;
        for (long i = 0; i < n; ++i) {
            double s = OD[4 * i + 3] * OC[4 * i] < 0 ? -1 : 1;
            for (int k = 0; k < 3; ++k) md = std::fmax(md, std::fabs(OD[4 * i + k] - s * OC[4 * i + 1 + k]));
            for (int k = 0; k < 4; ++k) md = std::fmax(md, std::fabs(OD[4 * i + k] - OE[4 * i + k]));
        }
        line("so3_exp", n, d, c, e, md);
    }
    // ---- so3 log: quaternion -> rotation vector ----
    {
        double d, c, e;
        best3(n, [&] { dopt_so3_log_batch_d(n, QA, 4, OD, 3, NULL); },
            [&] { for (long i = 0; i < n; ++i) ceres::QuaternionToAngleAxis(QAc + 4 * i, OC + 3 * i); },
            [&] {
            for (long i = 0; i < n; ++i) {
                Eigen::AngleAxisd aa(Eigen::Map<const Eigen::Quaterniond>(QA + 4 * i));
                Eigen::Map<Eigen::Vector3d>(OE + 3 * i) = aa.angle() * aa.axis();
            }
        }, &d, &c, &e);
        double md = 0;
        for (long i = 0; i < n; ++i)
            for (int k = 0; k < 3; ++k) md = std::fmax(md, std::fmax(std::fabs(OD[3 * i + k] - OC[3 * i + k]), std::fabs(OD[3 * i + k] - OE[3 * i + k])));
        line("so3_log", n, d, c, e, md);
    }
    // ---- so3 compose ----
    {
        double d, c, e;
        best3(n, [&] { dopt_so3_compose_batch_d(n, QA, 4, QB, 4, OD, 4, NULL, NULL); },
            [&] { for (long i = 0; i < n; ++i) ceres::QuaternionProduct(QAc + 4 * i, QBc + 4 * i, OC + 4 * i); },
            [&] {
            for (long i = 0; i < n; ++i)
                Eigen::Map<Eigen::Quaterniond>(OE + 4 * i) = Eigen::Map<const Eigen::Quaterniond>(QA + 4 * i) * Eigen::Map<const Eigen::Quaterniond>(QB + 4 * i);
        }, &d, &c, &e);
        double md = 0;
        for (long i = 0; i < n; ++i)
            for (int k = 0; k < 4; ++k) md = std::fmax(md, std::fmax(std::fabs(OD[4 * i + k] - OE[4 * i + k]), std::fabs(OD[4 * i + k] - OC[4 * i + (k + 1) % 4])));
        line("so3_compose", n, d, c, e, md);
    }
    // ---- so3 act ----
    {
        double d, c, e;
        best3(n, [&] { dopt_so3_act_batch_d(n, QA, 4, P, 3, OD, 3, NULL, NULL); },
            [&] { for (long i = 0; i < n; ++i) ceres::UnitQuaternionRotatePoint(QAc + 4 * i, P + 3 * i, OC + 3 * i); },
            [&] {
            for (long i = 0; i < n; ++i)
                Eigen::Map<Eigen::Vector3d>(OE + 3 * i) = Eigen::Map<const Eigen::Quaterniond>(QA + 4 * i) * Eigen::Map<const Eigen::Vector3d>(P + 3 * i);
        }, &d, &c, &e);
        double md = 0;
        for (long i = 0; i < 3 * n; ++i) md = std::fmax(md, std::fmax(std::fabs(OD[i] - OC[i]), std::fabs(OD[i] - OE[i])));
        line("so3_act", n, d, c, e, md);
    }
    // ---- se3 compose: (ta + Ra tb, qa qb) ----
    {
        double d, c, e;
        best3(n, [&] { dopt_se3_compose_batch_d(n, GA, 7, GB, 7, OD, 7, NULL, NULL); },
            [&] {
            for (long i = 0; i < n; ++i) {
                double *o = OC + 7 * i, r[3];
                ceres::UnitQuaternionRotatePoint(QAc + 4 * i, TB + 3 * i, r);
                for (int k = 0; k < 3; ++k) o[k] = TA[3 * i + k] + r[k];
                ceres::QuaternionProduct(QAc + 4 * i, QBc + 4 * i, o + 3);
            }
        },
            [&] {
            for (long i = 0; i < n; ++i) {
                Eigen::Map<const Eigen::Quaterniond> a(QA + 4 * i), b(QB + 4 * i);
                Eigen::Map<Eigen::Vector3d>(OE + 7 * i) = Eigen::Map<const Eigen::Vector3d>(TA + 3 * i) + a * Eigen::Map<const Eigen::Vector3d>(TB + 3 * i);
                Eigen::Map<Eigen::Quaterniond>(OE + 7 * i + 3) = a * b;
            }
        }, &d, &c, &e);
        double md = 0;
        for (long i = 0; i < 7 * n; ++i) md = std::fmax(md, std::fabs(OD[i] - OE[i]));
        line("se3_compose", n, d, c, e, md);
    }
    // ---- se3 act: R p + t ----
    {
        double d, c, e;
        best3(n, [&] { dopt_se3_act_batch_d(n, GA, 7, P, 3, OD, 3, NULL, NULL); },
            [&] {
            for (long i = 0; i < n; ++i) {
                ceres::UnitQuaternionRotatePoint(QAc + 4 * i, P + 3 * i, OC + 3 * i);
                for (int k = 0; k < 3; ++k) OC[3 * i + k] += TA[3 * i + k];
            }
        },
            [&] {
            for (long i = 0; i < n; ++i)
                Eigen::Map<Eigen::Vector3d>(OE + 3 * i) = Eigen::Map<const Eigen::Quaterniond>(QA + 4 * i) * Eigen::Map<const Eigen::Vector3d>(P + 3 * i) + Eigen::Map<const Eigen::Vector3d>(TA + 3 * i);
        }, &d, &c, &e);
        double md = 0;
        for (long i = 0; i < 3 * n; ++i) md = std::fmax(md, std::fmax(std::fabs(OD[i] - OC[i]), std::fabs(OD[i] - OE[i])));
        line("se3_act", n, d, c, e, md);
    }
    // ---- Jacobian variants vs Ceres Jets ----
    {
        typedef ceres::Jet<double, 3> J3;
        double d, c;
        best2(n, [&] { dopt_so3_exp_batch_d(n, W, 3, OD, 4, JD); },
            [&] {
            for (long i = 0; i < n; ++i) {
                J3 x[3], q[4];
                for (int k = 0; k < 3; ++k) x[k] = J3(W[3 * i + k], k);
                ceres::AngleAxisToQuaternion(x, q);
                double *o = OC + 16 * i;
                for (int k = 0; k < 4; ++k) { o[4 * k] = q[k].a; o[4 * k + 1] = q[k].v[0]; o[4 * k + 2] = q[k].v[1]; o[4 * k + 3] = q[k].v[2]; }
            }
        }, &d, &c);
        line("so3_exp_jac", n, d, c, 1e30, -1);
    }
    {
        typedef ceres::Jet<double, 4> J4;
        double d, c;
        best2(n, [&] { dopt_so3_log_batch_d(n, QA, 4, OD, 3, JD); },
            [&] {
            for (long i = 0; i < n; ++i) {
                J4 x[4], a[3];
                for (int k = 0; k < 4; ++k) x[k] = J4(QAc[4 * i + k], k);
                ceres::QuaternionToAngleAxis(x, a);
                double *o = OC + 15 * i;
                for (int k = 0; k < 3; ++k) { o[5 * k] = a[k].a; for (int l = 0; l < 4; ++l) o[5 * k + 1 + l] = a[k].v[l]; }
            }
        }, &d, &c);
        line("so3_log_jac", n, d, c, 1e30, -1);
    }
    {
        typedef ceres::Jet<double, 8> J8;
        double d, c;
        best2(n, [&] { dopt_so3_compose_batch_d(n, QA, 4, QB, 4, OD, 4, JD, JD2); },
            [&] {
            for (long i = 0; i < n; ++i) {
                J8 a[4], b[4], q[4];
                for (int k = 0; k < 4; ++k) { a[k] = J8(QAc[4 * i + k], k); b[k] = J8(QBc[4 * i + k], 4 + k); }
                ceres::QuaternionProduct(a, b, q);
                double *o = OC + 36 * i;
                for (int k = 0; k < 4; ++k) { o[9 * k] = q[k].a; for (int l = 0; l < 8; ++l) o[9 * k + 1 + l] = q[k].v[l]; }
            }
        }, &d, &c);
        line("so3_compose_jac", n, d, c, 1e30, -1);
    }
    {
        typedef ceres::Jet<double, 7> J7;
        double d, c;
        best2(n, [&] { dopt_so3_act_batch_d(n, QA, 4, P, 3, OD, 3, JD, JD2); },
            [&] {
            for (long i = 0; i < n; ++i) {
                J7 q[4], x[3], y[3];
                for (int k = 0; k < 4; ++k) q[k] = J7(QAc[4 * i + k], k);
                for (int k = 0; k < 3; ++k) x[k] = J7(P[3 * i + k], 4 + k);
                ceres::UnitQuaternionRotatePoint(q, x, y);
                double *o = OC + 24 * i;
                for (int k = 0; k < 3; ++k) { o[8 * k] = y[k].a; for (int l = 0; l < 7; ++l) o[8 * k + 1 + l] = y[k].v[l]; }
            }
        }, &d, &c);
        line("so3_act_jac", n, d, c, 1e30, -1);
    }
    {
        typedef ceres::Jet<double, 7> J7;
        double d, c;
        best2(n, [&] { dopt_se3_act_batch_d(n, GA, 7, P, 3, OD, 3, JD, JD2); },
            [&] {
            for (long i = 0; i < n; ++i) {
                J7 q[4], x[3], y[3];
                for (int k = 0; k < 4; ++k) q[k] = J7(QAc[4 * i + k], k);
                for (int k = 0; k < 3; ++k) x[k] = J7(P[3 * i + k], 4 + k);
                ceres::UnitQuaternionRotatePoint(q, x, y);
                double *o = OC + 24 * i;
                for (int k = 0; k < 3; ++k) { o[8 * k] = y[k].a + TA[3 * i + k]; for (int l = 0; l < 7; ++l) o[8 * k + 1 + l] = y[k].v[l]; }
            }
        }, &d, &c);
        line("se3_act_jac", n, d, c, 1e30, -1);
    }
    return 0;
}
