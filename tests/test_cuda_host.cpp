// tests/test_cuda_host.cpp — dopt_cuda.cuh's element functions compiled for the HOST by a plain C++
// compiler (no CUDA needed): the very code the GPU kernels run, checked against dopt_lie.h and
// dopt.h (double 1e-12, float 1e-5 relative), their Jacobians against central differences, the
// batch operators' indexing against the CPU batch functions, the small Cholesky against dopt_potrf,
// the Anderson step against an independent bordered solve and a fixed point it must reach, and CEM
// (normals' moments, ranks, the update against a direct computation, convergence on a quadratic).
// Run by tests/run.sh:  g++ -std=c++11 -Wall -Wextra -Werror -pedantic -I. tests/test_cuda_host.cpp
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_lie.h"
#include "dopt_mpc.h"
#include "dopt_cuda.cuh"
#include "tests/dopt_test.h"
#include "tests/cuda_cases.h"
#include <algorithm>

static const long N = 96; // > CASES_NUM_ANGLES: edge angles plus random ones

// ---- values and Jacobians against dopt_lie.h -------------------------------------------------------

template <typename Op, typename T, typename Cpu>
static void check_unary(const char *what, cases_kind in, int jsize, Cpu cpu)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 7, 1);
    const long sx = cases_size(in) + 2, sy = Op::out_size() + 1;
    std::vector<T> x = cases_batch<T>(&rng, in, N, sx), y((size_t)(N * sy), 0), yr = y;
    std::vector<T> J((size_t)(N * jsize), 0), Jr = J;
    for (int with_j = 0; with_j < 2; ++with_j) {
        Op op = {x.data(), sx, y.data(), sy, with_j ? J.data() : (T *)0};
        dopt_cuda_host_each(N, op);
        cpu(N, x.data(), sx, yr.data(), sy, with_j ? Jr.data() : (T *)0);
        double e = cases_err(y.size(), y.data(), yr.data()), ej = cases_err(J.size(), J.data(), Jr.data());
        DOPT_CHECK(e <= cases_tol<T>(), "%s (%s, J %d): value error %g", what, sizeof(T) == 4 ? "float" : "double",
                   with_j, e);
        DOPT_CHECK(ej <= cases_tol<T>(), "%s (%s): Jacobian error %g", what, sizeof(T) == 4 ? "float" : "double", ej);
    }
}

template <typename Op, typename T, typename Cpu>
static void check_binary(const char *what, cases_kind ka, cases_kind kb, int jasize, int jbsize, Cpu cpu)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 11, 2);
    const long sa = cases_size(ka) + 1, sb = cases_size(kb) + 3, sc = Op::out_size() + 2;
    std::vector<T> a = cases_batch<T>(&rng, ka, N, sa), b = cases_batch<T>(&rng, kb, N, sb);
    std::vector<T> c((size_t)(N * sc), 0), cr = c, Ja((size_t)(N * jasize), 0), Jar = Ja, Jb((size_t)(N * jbsize), 0),
                                        Jbr = Jb;
    for (int with_j = 0; with_j < 2; ++with_j) {
        T *ja = with_j ? Ja.data() : (T *)0, *jb = with_j ? Jb.data() : (T *)0;
        Op op = {a.data(), sa, b.data(), sb, c.data(), sc, ja, jb};
        dopt_cuda_host_each(N, op);
        cpu(N, a.data(), sa, b.data(), sb, cr.data(), sc, with_j ? Jar.data() : (T *)0, with_j ? Jbr.data() : (T *)0);
        double e = cases_err(c.size(), c.data(), cr.data());
        double eja = cases_err(Ja.size(), Ja.data(), Jar.data()), ejb = cases_err(Jb.size(), Jb.data(), Jbr.data());
        DOPT_CHECK(e <= cases_tol<T>(), "%s (%s, J %d): value error %g", what, sizeof(T) == 4 ? "float" : "double",
                   with_j, e);
        DOPT_CHECK(eja <= cases_tol<T>() && ejb <= cases_tol<T>(), "%s (%s): Jacobian errors %g %g", what,
                   sizeof(T) == 4 ? "float" : "double", eja, ejb);
    }
}

template <typename T> static void lie_vs_cpu(void)
{
    check_unary<dopt_cuda_so3_exp_op<T>, T>("so3_exp", CASES_SO3_TANGENT, 9,
                                            [](long n, const T *x, long sx, T *y, long sy, T *J) { cpu_so3_exp(n, x, sx, y, sy, J); });
    check_unary<dopt_cuda_so3_log_op<T>, T>("so3_log", CASES_SO3, 9,
                                            [](long n, const T *x, long sx, T *y, long sy, T *J) { cpu_so3_log(n, x, sx, y, sy, J); });
    check_unary<dopt_cuda_se3_exp_op<T>, T>("se3_exp", CASES_SE3_TANGENT, 36,
                                            [](long n, const T *x, long sx, T *y, long sy, T *J) { cpu_se3_exp(n, x, sx, y, sy, J); });
    check_unary<dopt_cuda_se3_log_op<T>, T>("se3_log", CASES_SE3, 36,
                                            [](long n, const T *x, long sx, T *y, long sy, T *J) { cpu_se3_log(n, x, sx, y, sy, J); });
    check_binary<dopt_cuda_so3_compose_op<T>, T>(
        "so3_compose", CASES_SO3, CASES_SO3, 9, 9,
        [](long n, const T *a, long sa, const T *b, long sb, T *c, long sc, T *Ja, T *Jb) { cpu_so3_compose(n, a, sa, b, sb, c, sc, Ja, Jb); });
    check_binary<dopt_cuda_so3_act_op<T>, T>(
        "so3_act", CASES_SO3, CASES_POINT, 9, 9,
        [](long n, const T *a, long sa, const T *b, long sb, T *c, long sc, T *Ja, T *Jb) { cpu_so3_act(n, a, sa, b, sb, c, sc, Ja, Jb); });
    check_binary<dopt_cuda_se3_compose_op<T>, T>(
        "se3_compose", CASES_SE3, CASES_SE3, 36, 36,
        [](long n, const T *a, long sa, const T *b, long sb, T *c, long sc, T *Ja, T *Jb) { cpu_se3_compose(n, a, sa, b, sb, c, sc, Ja, Jb); });
    check_binary<dopt_cuda_se3_between_op<T>, T>(
        "se3_between", CASES_SE3, CASES_SE3, 36, 36,
        [](long n, const T *a, long sa, const T *b, long sb, T *c, long sc, T *Ja, T *Jb) { cpu_se3_between(n, a, sa, b, sb, c, sc, Ja, Jb); });
    check_binary<dopt_cuda_se3_act_op<T>, T>(
        "se3_act", CASES_SE3, CASES_POINT, 18, 9,
        [](long n, const T *a, long sa, const T *b, long sb, T *c, long sc, T *Ja, T *Jb) { cpu_se3_act(n, a, sa, b, sb, c, sc, Ja, Jb); });
}
static void test_lie_matches_cpu_double(void) { lie_vs_cpu<double>(); }
static void test_lie_matches_cpu_float(void) { lie_vs_cpu<float>(); }

// ---- Jacobians against central differences (double) ----------------------------------------------
// Right perturbations: x ⊕ δ = x · Exp(δ); a group-valued f has J with f(x ⊕ δ) = f(x) · Exp(J δ),
// a vector-valued f has f(x ⊕ δ) = f(x) + J δ.

struct fd_group { // group operations through the element functions under test
    int dim, tdim;
    void exp(const double *d, double *g) const { dim == 4 ? dopt_cuda_so3_exp(d, g, (double *)0) : dopt_cuda_se3_exp(d, g, (double *)0); }
    void log(const double *g, double *d) const { dim == 4 ? dopt_cuda_so3_log(g, d, (double *)0) : dopt_cuda_se3_log(g, d, (double *)0); }
    void compose(const double *a, const double *b, double *c) const
    {
        if (dim == 4) dopt_cuda_so3_compose(a, b, c, (double *)0, (double *)0);
        else dopt_cuda_se3_compose(a, b, c, (double *)0, (double *)0);
    }
    void between(const double *a, const double *b, double *c) const // a⁻¹ b
    {
        if (dim == 7) { dopt_cuda_se3_between(a, b, c, (double *)0, (double *)0); return; }
        double ai[4] = {-a[0], -a[1], -a[2], a[3]};
        dopt__cuda_qmul(ai, b, c);
    }
    void retract(const double *x, const double *d, double *y) const
    {
        double e[7];
        exp(d, e);
        compose(x, e, y);
    }
};

// J (rows x tdim, row-major) of f at x by central differences; group_out: f's output is a group element.
template <typename F>
static void fd_jacobian(const fd_group &G, const fd_group &out, bool group_out, int rows, const double *x, F f, double *J)
{
    const double h = 1e-6;
    double f0[7] = {0}, fp[7] = {0}, fm[7] = {0}, xp[7] = {0}, xm[7] = {0}, dp[6] = {0}, dm[6] = {0}, d[6] = {0};
    f(x, f0);
    for (int c = 0; c < G.tdim; ++c) {
        for (int i = 0; i < 6; ++i) d[i] = 0;
        d[c] = h;
        G.retract(x, d, xp);
        d[c] = -h;
        G.retract(x, d, xm);
        f(xp, fp);
        f(xm, fm);
        for (int r = 0; r < rows; ++r) {
            if (group_out) {
                double bp[7], bm[7];
                out.between(f0, fp, bp);
                out.between(f0, fm, bm);
                out.log(bp, dp);
                out.log(bm, dm);
                J[r * G.tdim + c] = (dp[r] - dm[r]) / (2 * h);
            } else {
                J[r * G.tdim + c] = (fp[r] - fm[r]) / (2 * h);
            }
        }
    }
}

static void check_fd(const char *what, int rows, int cols, const double *J, const double *Jfd)
{
    double e = cases_err((size_t)rows * cols, J, Jfd);
    DOPT_CHECK(e <= 1e-6, "%s: Jacobian vs central differences %g", what, e);
}

static void test_lie_jacobians_fd(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 3, 3);
    const fd_group so3 = {4, 3}, se3 = {7, 6};
    // angles up to 3.0 (the differences step across π otherwise) and the small-angle branches
    const double angles[] = {0, 1e-5, 0.02, 0.7, 2.2, 3.0};
    for (int t = 0; t < 6; ++t) {
        double xi[6], w[3], g[7], q[4], a[7], p[3], J[36], Jb[36], Jfd[36], y[7];
        cases_tangent(&rng, 0, 6, xi);
        double n = sqrt(xi[3] * xi[3] + xi[4] * xi[4] + xi[5] * xi[5]);
        for (int i = 3; i < 6; ++i) xi[i] = n > 0 ? xi[i] / n * angles[t] : 0;
        if (angles[t] > 0 && n == 0) xi[3] = angles[t];
        if (t == 0) xi[3] = xi[4] = xi[5] = 0;
        w[0] = xi[3]; w[1] = xi[4]; w[2] = xi[5];
        for (int i = 0; i < 3; ++i) p[i] = dopt_rng_normal_d(&rng);
        dopt_cuda_se3_exp(xi, g, (double *)0);
        dopt_cuda_so3_exp(w, q, (double *)0);
        cases_element(&rng, 40 + t, 7, a);
        // Exp: tangent input (δ added to the tangent), group output
        {
            dopt_cuda_so3_exp(w, y, J);
            for (int c = 0; c < 3; ++c) {
                const double h = 1e-6;
                double wp[3] = {w[0], w[1], w[2]}, wm[3] = {w[0], w[1], w[2]}, gp[4], gm[4], bp[4], bm[4], dp[3], dm[3];
                wp[c] += h; wm[c] -= h;
                so3.exp(wp, gp); so3.exp(wm, gm);
                so3.between(y, gp, bp); so3.between(y, gm, bm);
                so3.log(bp, dp); so3.log(bm, dm);
                for (int r = 0; r < 3; ++r) Jfd[r * 3 + c] = (dp[r] - dm[r]) / (2 * h);
            }
            check_fd("so3_exp J", 3, 3, J, Jfd);
            dopt_cuda_se3_exp(xi, y, J);
            for (int c = 0; c < 6; ++c) {
                const double h = 1e-6;
                double xp[6], xm[6], gp[7], gm[7], bp[7], bm[7], dp[6], dm[6];
                for (int i = 0; i < 6; ++i) xp[i] = xm[i] = xi[i];
                xp[c] += h; xm[c] -= h;
                se3.exp(xp, gp); se3.exp(xm, gm);
                se3.between(y, gp, bp); se3.between(y, gm, bm);
                se3.log(bp, dp); se3.log(bm, dm);
                for (int r = 0; r < 6; ++r) Jfd[r * 6 + c] = (dp[r] - dm[r]) / (2 * h);
            }
            check_fd("se3_exp J", 6, 6, J, Jfd);
        }
        // Log: group input, tangent output
        dopt_cuda_so3_log(q, y, J);
        fd_jacobian(so3, so3, false, 3, q, [](const double *x, double *o) { dopt_cuda_so3_log(x, o, (double *)0); }, Jfd);
        check_fd("so3_log J", 3, 3, J, Jfd);
        dopt_cuda_se3_log(g, y, J);
        fd_jacobian(se3, se3, false, 6, g, [](const double *x, double *o) { dopt_cuda_se3_log(x, o, (double *)0); }, Jfd);
        check_fd("se3_log J", 6, 6, J, Jfd);
        // Act: d y / d g (vector output)
        dopt_cuda_so3_act(q, p, y, J, Jb);
        fd_jacobian(so3, so3, false, 3, q, [&](const double *x, double *o) { dopt_cuda_so3_act(x, p, o, (double *)0, (double *)0); }, Jfd);
        check_fd("so3_act Jg", 3, 3, J, Jfd);
        dopt_cuda_se3_act(g, p, y, J, Jb);
        fd_jacobian(se3, se3, false, 3, g, [&](const double *x, double *o) { dopt_cuda_se3_act(x, p, o, (double *)0, (double *)0); }, Jfd);
        check_fd("se3_act Jg", 3, 6, J, Jfd);
        // Compose / between: d c / d a (group output)
        dopt_cuda_so3_compose(q, a + 3, y, J, Jb);
        fd_jacobian(so3, so3, true, 3, q, [&](const double *x, double *o) { dopt_cuda_so3_compose(x, a + 3, o, (double *)0, (double *)0); }, Jfd);
        check_fd("so3_compose Ja", 3, 3, J, Jfd);
        dopt_cuda_se3_compose(g, a, y, J, Jb);
        fd_jacobian(se3, se3, true, 6, g, [&](const double *x, double *o) { dopt_cuda_se3_compose(x, a, o, (double *)0, (double *)0); }, Jfd);
        check_fd("se3_compose Ja", 6, 6, J, Jfd);
        dopt_cuda_se3_between(g, a, y, J, Jb);
        fd_jacobian(se3, se3, true, 6, g, [&](const double *x, double *o) { dopt_cuda_se3_between(x, a, o, (double *)0, (double *)0); }, Jfd);
        check_fd("se3_between Ja", 6, 6, J, Jfd);
        fd_jacobian(se3, se3, true, 6, a, [&](const double *x, double *o) { dopt_cuda_se3_between(g, x, o, (double *)0, (double *)0); }, Jfd);
        check_fd("se3_between Jb", 6, 6, Jb, Jfd);
    }
}

// ---- small Cholesky against dopt_potrf / dopt_potrs ------------------------------------------------

template <typename T> static void potrf_vs_cpu(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 5, 4);
    const int sizes[] = {1, 2, 5, 17, 48, 64};
    for (int s = 0; s < 6; ++s) {
        int n = sizes[s], col = 0;
        bool nonfinite = true;
        std::vector<T> A((size_t)n * n), Ar, B((size_t)n * 3), Br;
        cases_spd(&rng, n, A.data());
        for (size_t i = 0; i < B.size(); ++i) B[i] = (T)dopt_rng_normal_d(&rng);
        Ar = A; Br = B;
        int fail = dopt_cuda_potrf_one(n, A.data(), n, &nonfinite);
        dopt_status st = cpu_potrf(n, Ar.data(), n, &col);
        DOPT_CHECK(fail == -1 && !nonfinite && st == DOPT_OK, "potrf n=%d: fail %d, cpu status %d", n, fail, (int)st);
        std::vector<T> L, Lr; // compare the lower triangles only
        for (int j = 0; j < n; ++j)
            for (int i = j; i < n; ++i) { L.push_back(A[i + (size_t)j * n]); Lr.push_back(Ar[i + (size_t)j * n]); }
        double e = cases_err(L.size(), L.data(), Lr.data());
        DOPT_CHECK(e <= cases_tol<T>(), "potrf n=%d (%s): factor error %g", n, sizeof(T) == 4 ? "float" : "double", e);
        dopt_cuda_potrs_one(n, 3, A.data(), n, B.data(), n);
        cpu_potrs(n, 3, Ar.data(), n, Br.data(), n);
        e = cases_err(B.size(), B.data(), Br.data());
        DOPT_CHECK(e <= 10 * cases_tol<T>(), "potrs n=%d (%s): solution error %g", n, sizeof(T) == 4 ? "float" : "double", e);
    }
    // failures: an indefinite pivot and a NaN are reported at their columns, as dopt_potrf does
    {
        const int n = 6;
        std::vector<T> A((size_t)n * n), Ar;
        bool nonfinite = true;
        int col = -5;
        cases_spd(&rng, n, A.data());
        A[3 + 3 * n] = -100;
        Ar = A;
        int fail = dopt_cuda_potrf_one(n, A.data(), n, &nonfinite);
        dopt_status st = cpu_potrf(n, Ar.data(), n, &col);
        DOPT_CHECK(fail == 3 && !nonfinite && st == DOPT_ERR_NOT_POSITIVE_DEFINITE && col == 3,
                   "indefinite: fail %d nonfinite %d, cpu %d at %d", fail, (int)nonfinite, (int)st, col);
        cases_spd(&rng, n, A.data());
        A[4 + 2 * n] = (T)NAN;
        fail = dopt_cuda_potrf_one(n, A.data(), n, &nonfinite);
        DOPT_CHECK(fail >= 2 && nonfinite, "NaN: fail %d nonfinite %d", fail, (int)nonfinite);
    }
}
static void test_potrf_matches_cpu_double(void) { potrf_vs_cpu<double>(); }
static void test_potrf_matches_cpu_float(void) { potrf_vs_cpu<float>(); }

// ---- Anderson step --------------------------------------------------------------------------------

// Independent reference: the bordered system [[H + λ̄ I, 1], [1ᵀ, 0]] [α; μ] = [0; 1] by LU (double).
static void anderson_reference(int d, int m, const double *X, const double *G, double lambda, double beta, double *x_new)
{
    std::vector<double> K((size_t)(m + 1) * (m + 1), 0), r((size_t)m + 1, 0);
    std::vector<int> piv((size_t)m + 1);
    double tr = 0;
    for (int i = 0; i < m; ++i)
        for (int j = 0; j < m; ++j) {
            double s = 0;
            for (int t = 0; t < d; ++t) s += (G[t + i * d] - X[t + i * d]) * (G[t + j * d] - X[t + j * d]);
            K[i + (size_t)j * (m + 1)] = s;
        }
    for (int i = 0; i < m; ++i) tr += K[i + (size_t)i * (m + 1)];
    for (int i = 0; i < m; ++i) {
        K[i + (size_t)i * (m + 1)] += lambda * tr / m;
        K[m + (size_t)i * (m + 1)] = K[i + (size_t)m * (m + 1)] = 1;
    }
    r[m] = 1;
    int col;
    dopt_getrf_d(m + 1, K.data(), m + 1, piv.data(), &col);
    dopt_getrs_d(DOPT_NOTRANS, m + 1, 1, K.data(), m + 1, piv.data(), r.data(), m + 1);
    for (int t = 0; t < d; ++t) {
        double s = 0;
        for (int i = 0; i < m; ++i) s += r[i] * (beta * G[t + i * d] + (1 - beta) * X[t + i * d]);
        x_new[t] = s;
    }
}

template <typename T> static void anderson_checks(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 9, 5);
    const int d = 40, m = 5;
    std::vector<double> Xd((size_t)d * m), Gd((size_t)d * m), ref(d);
    std::vector<T> X((size_t)d * m), G((size_t)d * m), xn(d), work((size_t)m * m + m);
    for (size_t i = 0; i < Xd.size(); ++i) {
        Xd[i] = (double)(T)dopt_rng_normal_d(&rng);
        Gd[i] = (double)(T)(Xd[i] + dopt_rng_normal_d(&rng));
        X[i] = (T)Xd[i]; G[i] = (T)Gd[i];
    }
    dopt_cuda_anderson_options o = {0, 0.7};
    T lam, beta;
    DOPT_CHECK(dopt__cuda_anderson_resolve(&o, &lam, &beta) && beta == (T)0.7, "options resolve");
    dopt_status st = dopt_cuda_anderson_one(d, m, X.data(), d, G.data(), d, lam, beta, xn.data(), work.data());
    anderson_reference(d, m, Xd.data(), Gd.data(), (double)lam, 0.7, ref.data());
    std::vector<T> refT(ref.begin(), ref.end());
    double e = cases_err((size_t)d, xn.data(), refT.data());
    DOPT_CHECK(st == DOPT_OK && e <= 100 * cases_tol<T>(), "Anderson vs bordered solve (%s): status %d error %g",
               sizeof(T) == 4 ? "float" : "double", (int)st, e);
    // a zero residual column with lambda off: the weights system is singular (reported, not hidden)
    for (int t = 0; t < d; ++t) G[t + 2 * d] = X[t + 2 * d];
    o.lambda = DOPT_OFF;
    DOPT_CHECK(dopt__cuda_anderson_resolve(&o, &lam, &beta) && lam == 0, "lambda off resolves to 0");
    st = dopt_cuda_anderson_one(d, m, X.data(), d, G.data(), d, lam, beta, xn.data(), work.data());
    DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE, "singular history: status %d", (int)st);
    // options out of range are rejected
    dopt_cuda_anderson_options bad1 = {-2, 0}, bad2 = {0, 1.5};
    DOPT_CHECK(!dopt__cuda_anderson_resolve(&bad1, &lam, &beta) && !dopt__cuda_anderson_resolve(&bad2, &lam, &beta),
               "bad options accepted");
}
static void test_anderson_double(void) { anderson_checks<double>(); }
static void test_anderson_float(void) { anderson_checks<float>(); }

// On an affine map g(x) = M x + c in R^4, five iterates span the affine hull, so one Anderson step
// (beta = 1, tiny lambda) lands on the fixed point x* = (I - M)⁻¹ c.
static void test_anderson_affine_fixed_point(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 21, 6);
    const int d = 4, m = 5;
    double M[16], c[4], X[20], G[20], xs[4], xn[4], work[30], IM[16];
    int piv[4], col;
    for (int i = 0; i < 16; ++i) M[i] = 0.2 * dopt_rng_normal_d(&rng);
    for (int i = 0; i < 4; ++i) c[i] = dopt_rng_normal_d(&rng);
    for (int k = 0; k < m; ++k) {
        for (int t = 0; t < d; ++t) X[t + k * d] = dopt_rng_normal_d(&rng);
        for (int t = 0; t < d; ++t) {
            double s = c[t];
            for (int j = 0; j < d; ++j) s += M[t + j * d] * X[j + k * d];
            G[t + k * d] = s;
        }
    }
    for (int i = 0; i < 16; ++i) IM[i] = (i % 5 == 0 ? 1 : 0) - M[i];
    for (int i = 0; i < 4; ++i) xs[i] = c[i];
    dopt_getrf_d(4, IM, 4, piv, &col);
    dopt_getrs_d(DOPT_NOTRANS, 4, 1, IM, 4, piv, xs, 4);
    dopt_status st = dopt_cuda_anderson_one(d, m, X, d, G, d, 1e-10, 1.0, xn, work);
    double e = cases_err(4, xn, xs);
    DOPT_CHECK(st == DOPT_OK && e <= 1e-6, "affine fixed point: status %d error %g", (int)st, e);
}


// ---- CEM ----------------------------------------------------------------------------------------------

static void test_cem_normals(void)
{
    const int n = 200000;
    double s = 0, s2 = 0, s4 = 0;
    for (int i = 0; i < n; ++i) {
        double z = dopt_cuda_normal(42, 3, (unsigned long long)i);
        s += z; s2 += z * z; s4 += z * z * z * z;
    }
    s /= n; s2 /= n; s4 /= n;
    DOPT_CHECK(fabs(s) < 0.01 && fabs(s2 - 1) < 0.015 && fabs(s4 - 3) < 0.1, "moments %g %g %g (want 0 1 3)", s, s2, s4);
    DOPT_CHECK(dopt_cuda_normal(42, 3, 7) == dopt_cuda_normal(42, 3, 7), "not deterministic");
    DOPT_CHECK(dopt_cuda_normal(42, 3, 7) != dopt_cuda_normal(42, 4, 7) && dopt_cuda_normal(42, 3, 7) != dopt_cuda_normal(43, 3, 7),
               "iteration / seed do not change the stream");
}

static void test_cem_rank_and_update(void)
{
    // ranks: ascending, ties by index, NaN last
    const double c[6] = {3, 1, NAN, 1, -2, 3};
    const int want[6] = {3, 1, 5, 2, 0, 4};
    bool ranks_ok = true;
    for (int k = 0; k < 6; ++k) ranks_ok = ranks_ok && dopt_cuda_cem_rank(6, c, k) == want[k];
    DOPT_CHECK(ranks_ok, "CEM ranks");
    // update against a direct computation: sort, mean and population std of the E best, blend
    dopt_rng rng;
    dopt_rng_seed(&rng, 33, 7);
    const int d = 3, K = 50, E = 7;
    double mean[d] = {0.5, -1, 2}, sd[d] = {1, 2, 0.5}, X[d * K], cost[K], m0[d], s0[d];
    int elite[K];
    dopt_cuda_cem_sample_one(d, K, mean, sd, 5, 0, 2, X);
    DOPT_CHECK(X[4 * d + 1] == mean[1] + sd[1] * dopt_cuda_normal(5, 0, (unsigned long long)((2 * K + 4) * d + 1)), "sample formula");
    for (int k = 0; k < K; ++k) cost[k] = dopt_rng_normal_d(&rng);
    std::vector<int> idx(K);
    for (int k = 0; k < K; ++k) idx[k] = k;
    std::sort(idx.begin(), idx.end(), [&](int a, int b) { return cost[a] < cost[b] || (cost[a] == cost[b] && a < b); });
    for (int i = 0; i < d; ++i) { m0[i] = mean[i]; s0[i] = sd[i]; }
    dopt_cuda_cem_options o = {0.6, 0};
    double alpha, min_std;
    DOPT_CHECK(dopt__cuda_cem_resolve(&o, &alpha, &min_std) && alpha == 0.6, "options");
    dopt_status st = dopt_cuda_cem_update_one(d, K, E, X, cost, alpha, min_std, mean, sd, elite);
    double err = 0;
    for (int i = 0; i < d; ++i) {
        double m = 0, v = 0;
        for (int e = 0; e < E; ++e) m += X[idx[e] * d + i];
        m /= E;
        for (int e = 0; e < E; ++e) v += (X[idx[e] * d + i] - m) * (X[idx[e] * d + i] - m);
        double em = 0.6 * m + 0.4 * m0[i], es = 0.6 * sqrt(v / E) + 0.4 * s0[i];
        err = fmax(err, fmax(fabs(em - mean[i]), fabs(es - sd[i])));
    }
    DOPT_CHECK(st == DOPT_OK && err < 1e-13, "update vs direct: status %d error %g", (int)st, err);
    // fewer than E finite costs: NON_FINITE, mean and std untouched
    for (int k = 0; k < K - 3; ++k) cost[k] = NAN;
    for (int i = 0; i < d; ++i) { m0[i] = mean[i]; s0[i] = sd[i]; }
    st = dopt_cuda_cem_update_one(d, K, E, X, cost, alpha, min_std, mean, sd, elite);
    DOPT_CHECK(st == DOPT_ERR_NON_FINITE && mean[0] == m0[0] && sd[2] == s0[2], "NaN costs: status %d", (int)st);
    dopt_cuda_cem_options bad1 = {1.5, 0}, bad2 = {0, -3};
    DOPT_CHECK(!dopt__cuda_cem_resolve(&bad1, &alpha, &min_std) && !dopt__cuda_cem_resolve(&bad2, &alpha, &min_std),
               "bad CEM options accepted");
}

// CEM converges: minimizing |x - c|² in R^4 from mean 0, std 2 (K = 200, E = 20, 40 iterations).
template <typename T> static void cem_converges(void)
{
    const int d = 4, K = 200, E = 20;
    const T c[d] = {T(1.5), T(-0.5), T(0.25), T(2)};
    T mean[d] = {0, 0, 0, 0}, sd[d] = {2, 2, 2, 2}, X[d * K], cost[K];
    int elite[K];
    dopt_status st = DOPT_OK;
    for (int it = 0; it < 40 && st == DOPT_OK; ++it) {
        dopt_cuda_cem_sample_one(d, K, mean, sd, 77, (unsigned long long)it, 0, X);
        for (int k = 0; k < K; ++k) {
            T s = 0;
            for (int i = 0; i < d; ++i) s += (X[k * d + i] - c[i]) * (X[k * d + i] - c[i]);
            cost[k] = s;
        }
        st = dopt_cuda_cem_update_one(d, K, E, X, cost, T(0.8), T(0), mean, sd, elite);
    }
    double e = 0;
    for (int i = 0; i < d; ++i) e = fmax(e, fabs((double)(mean[i] - c[i])));
    DOPT_CHECK(st == DOPT_OK && e < 1e-3, "CEM (%s) did not converge: error %g", sizeof(T) == 4 ? "float" : "double", e);
}
static void test_cem_converges(void) { cem_converges<double>(); cem_converges<float>(); }

// ---- the block kernels, emulated in lockstep on the host ------------------------------------------
// Each block algorithm run with several thread counts, in forward and reverse thread order: the
// two orders must agree bit for bit (no phase depends on the order of its threads) and match the
// serial references.

template <typename T> static void block_kernels(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 13, 8);
    const int threads[] = {1, 32, 128, 256};
    for (int n : {1, 2, 7, 33, 64})
        for (int nt : threads) {
            const int lda = n + 1, nrhs = 3, ldb = n + 2;
            std::vector<T> A((size_t)lda * n, (T)9), B((size_t)ldb * nrhs), S((size_t)n * n);
            std::vector<T> spd((size_t)n * n);
            cases_spd(&rng, n, spd.data());
            for (int j = 0; j < n; ++j)
                for (int i = 0; i < n; ++i) A[i + (size_t)j * lda] = spd[i + (size_t)j * n];
            for (auto &v : B) v = (T)dopt_rng_normal_d(&rng);
            std::vector<T> Af = A, Ar = A, As = A, Bf = B, Br = B, Bs = B;
            bool nf;
            int ff = dopt_cuda_emulate_potrf(n, Af.data(), lda, nt, false, &nf, S.data());
            int fr = dopt_cuda_emulate_potrf(n, Ar.data(), lda, nt, true, &nf, S.data());
            int fs = dopt_cuda_potrf_one(n, As.data(), lda, &nf);
            dopt_cuda_emulate_potrs(n, nrhs, Af.data(), lda, Bf.data(), ldb, nt, false, S.data());
            dopt_cuda_emulate_potrs(n, nrhs, Ar.data(), lda, Br.data(), ldb, nt, true, S.data());
            dopt_cuda_potrs_one(n, nrhs, As.data(), lda, Bs.data(), ldb);
            DOPT_CHECK(ff == -1 && fr == -1 && fs == -1 && Af == Ar && Bf == Br, "potrf/potrs n=%d nt=%d: thread order matters", n, nt);
            double e = cases_err(Af.size(), Af.data(), As.data()), eb = cases_err(Bf.size(), Bf.data(), Bs.data());
            DOPT_CHECK(e <= cases_tol<T>() && eb <= 10 * cases_tol<T>(), "emulated potrf/potrs n=%d nt=%d (%s): %g %g", n, nt,
                       sizeof(T) == 4 ? "float" : "double", e, eb);
            if (n > 3) { // failure at column 3, as the serial factorization
                Af = A;
                Af[3 + 3 * (size_t)lda] = -50;
                As = Af;
                DOPT_CHECK(dopt_cuda_emulate_potrf(n, Af.data(), lda, nt, false, &nf, S.data()) == 3 &&
                               dopt_cuda_potrf_one(n, As.data(), lda, &nf) == 3 && Af == As,
                           "emulated potrf failure n=%d nt=%d", n, nt);
            }
        }
    for (int d : {1, 64, 65, 200})
        for (int m : {1, 4, 16}) {
            std::vector<T> X((size_t)d * m), G(X.size()), xf((size_t)d), xr(xf), xs(xf);
            std::vector<T> work((size_t)(64 * m + m * m + m + 256)), w1((size_t)(m * m + m));
            for (size_t i = 0; i < X.size(); ++i) { X[i] = (T)dopt_rng_normal_d(&rng); G[i] = X[i] + (T)dopt_rng_normal_d(&rng); }
            T lam = sizeof(T) == 4 ? T(1e-5) : T(1e-10), beta = T(0.9);
            dopt_status sf = dopt_cuda_emulate_anderson(d, m, X.data(), d, G.data(), d, lam, beta, xf.data(), 256, false, work.data());
            dopt_status sr = dopt_cuda_emulate_anderson(d, m, X.data(), d, G.data(), d, lam, beta, xr.data(), 256, true, work.data());
            dopt_status ss = dopt_cuda_anderson_one(d, m, X.data(), d, G.data(), d, lam, beta, xs.data(), w1.data());
            DOPT_CHECK(sf == ss && sr == ss && xf == xr, "anderson d=%d m=%d: statuses %d %d %d or thread order", d, m, (int)sf, (int)sr, (int)ss);
            if (ss == DOPT_OK && d >= 4 * m) {
                double e = cases_err(xf.size(), xf.data(), xs.data());
                DOPT_CHECK(e <= 100 * cases_tol<T>(), "emulated anderson d=%d m=%d (%s): %g", d, m, sizeof(T) == 4 ? "float" : "double", e);
            }
        }
    {
        const int d = 5, K = 300, E = 11, B = 3;
        std::vector<T> mean((size_t)B * d), sd(mean), X((size_t)B * d * K), Xs(X), cost((size_t)K);
        for (size_t i = 0; i < mean.size(); ++i) { mean[i] = (T)dopt_rng_normal_d(&rng); sd[i] = (T)1.5; }
        for (ptrdiff_t e = (ptrdiff_t)X.size() - 1; e >= 0; --e) // the sampling kernel's entries, any order
            dopt__cuda_cem_sample_entry(e, d, K, mean.data(), d, sd.data(), d, 8, 2, X.data(), (ptrdiff_t)d * K);
        for (int b = 0; b < B; ++b) dopt_cuda_cem_sample_one(d, K, mean.data() + b * d, sd.data() + b * d, 8, 2, b, Xs.data() + b * d * K);
        DOPT_CHECK(X == Xs, "CEM sampling entries differ from the serial sampler");
        for (auto &c : cost) c = (T)dopt_rng_normal_d(&rng);
        cost[10] = cost[20];
        std::vector<int> el((size_t)K);
        for (int nt : threads) {
            std::vector<T> mf(mean.begin(), mean.begin() + d), sf(sd.begin(), sd.begin() + d), mr = mf, sr = sf, ms = mf, ss = sf;
            dopt_status a = dopt_cuda_emulate_cem_update(d, K, E, X.data(), cost.data(), T(0.5), T(0.01), mf.data(), sf.data(), nt, false, el.data());
            dopt_status b = dopt_cuda_emulate_cem_update(d, K, E, X.data(), cost.data(), T(0.5), T(0.01), mr.data(), sr.data(), nt, true, el.data());
            dopt_status c = dopt_cuda_cem_update_one(d, K, E, X.data(), cost.data(), T(0.5), T(0.01), ms.data(), ss.data(), el.data());
            DOPT_CHECK(a == DOPT_OK && b == DOPT_OK && c == DOPT_OK && mf == mr && sf == sr && mf == ms && sf == ss,
                       "emulated CEM update nt=%d differs", nt);
        }
    }
}
static void test_block_kernels_double(void) { block_kernels<double>(); }
static void test_block_kernels_float(void) { block_kernels<float>(); }

// ---- batched LQR: the emulated block against dopt_mpc.h's LQR ----------------------------------------

#define CPU_LQR(T, S)                                                                                   \
    static void cpu_lqr(int n, int m, int T_, ptrdiff_t B, const dopt_cuda_lqr_data<T> &d, T *tau, T *lam, \
                        const T *dtau, dopt_cuda_lqr_grad<T> g, int *fail_t, dopt_status *st)           \
    {                                                                                                   \
        dopt_mpc_lqr_##S *s = NULL;                                                                     \
        dopt_mpc_lqr_data_##S cd;                                                                       \
        memset(&cd, 0, sizeof cd);                                                                      \
        cd.C.p = d.C.p; cd.C.ts = d.C.ts; cd.C.bs = d.C.bs;                                              \
        cd.c.p = d.c.p; cd.c.ts = d.c.ts; cd.c.bs = d.c.bs;                                              \
        cd.F.p = d.F.p; cd.F.ts = d.F.ts; cd.F.bs = d.F.bs;                                              \
        cd.f.p = d.f.p; cd.f.ts = d.f.ts; cd.f.bs = d.f.bs;                                              \
        cd.x_init.p = d.x_init.p; cd.x_init.bs = d.x_init.bs;                                            \
        const int NN = n + m;                                                                            \
        dopt_mpc_seq_##S ta = {tau, NN, (ptrdiff_t)T_ * NN}, la = {lam, n, (ptrdiff_t)T_ * n};            \
        std::vector<dopt_mpc_lqr_report_##S> rep((size_t)B);                                            \
        if (dopt_mpc_lqr_create_##S(NULL, n, m, T_, B, &s, NULL) != DOPT_OK) return;                     \
        dopt_mpc_lqr_solve_##S(s, &cd, NULL, ta, la, rep.data(), NULL);                                 \
        for (ptrdiff_t b = 0; b < B; ++b) { fail_t[b] = rep[(size_t)b].fail_t; st[b] = rep[(size_t)b].status; } \
        if (dtau) {                                                                                     \
            dopt_mpc_cseq_##S dt = {dtau, NN, (ptrdiff_t)T_ * NN};                                         \
            dopt_mpc_lqr_grad_##S cg;                                                                   \
            cg.C.p = g.C.p; cg.C.ts = g.C.ts; cg.C.bs = g.C.bs;                                          \
            cg.c.p = g.c.p; cg.c.ts = g.c.ts; cg.c.bs = g.c.bs;                                          \
            cg.F.p = g.F.p; cg.F.ts = g.F.ts; cg.F.bs = g.F.bs;                                          \
            cg.f.p = g.f.p; cg.f.ts = g.f.ts; cg.f.bs = g.f.bs;                                          \
            cg.x_init.p = g.x_init.p; cg.x_init.ts = 0; cg.x_init.bs = g.x_init.bs;                      \
            dopt_mpc_lqr_backward_##S(s, dt, NULL, &cg, NULL, NULL);                                     \
        }                                                                                               \
        dopt_mpc_lqr_destroy_##S(s);                                                                    \
    }
CPU_LQR(float, f)
CPU_LQR(double, d)

template <typename T> static void lqr_matches_cpu(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 23, 5);
    const int n = 3, m = 2, T_ = 7, NN = n + m;
    const ptrdiff_t B = 4;
    lqr_case<T> k = make_lqr_case<T>(&rng, n, m, T_, B);
    dopt_cuda_lqr_data<T> d = k.data();
    const size_t ntau = (size_t)(B * T_ * NN), nlam = (size_t)(B * T_ * n);
    std::vector<T> dtau(ntau);
    for (auto &v : dtau) v = (T)dopt_rng_normal_d(&rng);
    // the CPU reference
    std::vector<T> tau_r(ntau), lam_r(nlam), gC_r(k.C.size()), gc_r(k.c.size()), gF_r(k.F.size()), gf_r(k.f.size()),
        gx_r(k.x0.size());
    dopt_cuda_lqr_grad<T> gr = {{gC_r.data(), (ptrdiff_t)NN * NN, (ptrdiff_t)T_ * NN * NN}, {gc_r.data(), NN, (ptrdiff_t)T_ * NN},
                                {gF_r.data(), (ptrdiff_t)n * NN, (ptrdiff_t)(T_ - 1) * n * NN},
                                {gf_r.data(), n, (ptrdiff_t)(T_ - 1) * n}, {gx_r.data(), 0, n}};
    std::vector<int> ft_r((size_t)B);
    std::vector<dopt_status> st_r((size_t)B);
    cpu_lqr(n, m, T_, B, d, tau_r.data(), lam_r.data(), dtau.data(), gr, ft_r.data(), st_r.data());
    // the emulated blocks, several thread counts and both thread orders
    std::vector<T> work((size_t)(B * dopt_cuda_lqr_element_reals(n, m, T_))), smem((size_t)dopt_cuda_lqr_shared_reals(n, m));
    std::vector<T> tau0, gC0;
    for (int nt : {1, 5, 32})
        for (int rev = 0; rev < 2; ++rev) {
            std::vector<T> tau(ntau, T(-7)), lam(nlam), gC(k.C.size()), gc(k.c.size()), gF(k.F.size()), gf(k.f.size()),
                gx(k.x0.size());
            dopt_cuda_seq<T> ta = {tau.data(), NN, (ptrdiff_t)T_ * NN}, la = {lam.data(), n, (ptrdiff_t)T_ * n};
            std::vector<int> ft((size_t)B, 99);
            ptrdiff_t first = 0;
            dopt_status s = dopt_cuda_emulate_lqr_solve(B, n, m, T_, d, ta, la, ft.data(), (dopt_status *)0, work.data(),
                                                        smem.data(), nt, rev != 0, &first);
            DOPT_CHECK(s == DOPT_OK && first == -1 && ft[0] == -1, "emulated LQR solve nt=%d: status %d", nt, (int)s);
            double e = cases_err(ntau, tau.data(), tau_r.data()), el = cases_err(nlam, lam.data(), lam_r.data());
            DOPT_CHECK(e <= 100 * cases_tol<T>() && el <= 100 * cases_tol<T>(), "emulated LQR (%s) nt=%d: tau %g lam %g",
                       sizeof(T) == 4 ? "float" : "double", nt, e, el);
            dopt_cuda_lqr_grad<T> g = {{gC.data(), (ptrdiff_t)NN * NN, (ptrdiff_t)T_ * NN * NN}, {gc.data(), NN, (ptrdiff_t)T_ * NN},
                                       {gF.data(), (ptrdiff_t)n * NN, (ptrdiff_t)(T_ - 1) * n * NN},
                                       {gf.data(), n, (ptrdiff_t)(T_ - 1) * n}, {gx.data(), 0, n}};
            dopt_cuda_cseq<T> dt = {dtau.data(), NN, (ptrdiff_t)T_ * NN};
            s = dopt_cuda_emulate_lqr_backward(B, n, m, T_, d, dopt__cuda_const(ta), dopt__cuda_const(la), dt, g, work.data(),
                                               smem.data(), nt, rev != 0);
            double eg = std::max(std::max(cases_err(gC.size(), gC.data(), gC_r.data()), cases_err(gc.size(), gc.data(), gc_r.data())),
                                 std::max(std::max(cases_err(gF.size(), gF.data(), gF_r.data()), cases_err(gf.size(), gf.data(), gf_r.data())),
                                          cases_err(gx.size(), gx.data(), gx_r.data())));
            DOPT_CHECK(s == DOPT_OK && eg <= 100 * cases_tol<T>(), "emulated LQR backward (%s) nt=%d: status %d error %g",
                       sizeof(T) == 4 ? "float" : "double", nt, (int)s, eg);
            if (tau0.empty()) { tau0 = tau; gC0 = gC; }
            DOPT_CHECK(tau == tau0 && gC == gC0, "emulated LQR nt=%d rev=%d: the thread count or order changed the result", nt, rev);
        }
    // failures: an indefinite Q_uu at step 4 of element 2, a NaN in c of element 1
    std::vector<T> C2 = k.C, c2 = k.c;
    for (int i = 0; i < m; ++i) C2[(size_t)((2 * T_ + 4) * NN * NN + (n + i) * (NN + 1))] = T(-100);
    c2[(size_t)((1 * T_ + 2) * NN + 1)] = (T)NAN;
    dopt_cuda_lqr_data<T> d2 = d;
    d2.C.p = C2.data();
    d2.c.p = c2.data();
    std::vector<T> tau(ntau), lam(nlam);
    dopt_cuda_seq<T> ta = {tau.data(), NN, (ptrdiff_t)T_ * NN}, la = {lam.data(), n, (ptrdiff_t)T_ * n};
    std::vector<int> ft((size_t)B);
    std::vector<dopt_status> st((size_t)B);
    ptrdiff_t first = 0;
    dopt_status s = dopt_cuda_emulate_lqr_solve(B, n, m, T_, d2, ta, la, ft.data(), st.data(), work.data(), smem.data(), 8,
                                                false, &first);
    cpu_lqr(n, m, T_, B, d2, tau_r.data(), lam_r.data(), (const T *)0, gr, ft_r.data(), st_r.data());
    DOPT_CHECK(s == DOPT_ERR_NON_FINITE && first == 1 && st[1] == DOPT_ERR_NON_FINITE && st[0] == DOPT_OK &&
                   st[3] == DOPT_OK && st[2] == DOPT_ERR_NOT_POSITIVE_DEFINITE && ft[2] == 4 && ft_r[2] == 4 &&
                   st_r[2] == DOPT_ERR_NOT_POSITIVE_DEFINITE,
               "emulated LQR failures: %d first %ld, statuses %d %d %d %d, fail_t %d (CPU %d, status %d)", (int)s, (long)first,
               (int)st[0], (int)st[1], (int)st[2], (int)st[3], ft[2], ft_r[2], (int)st_r[2]);
}
static void test_lqr_matches_cpu_double(void) { lqr_matches_cpu<double>(); }
static void test_lqr_matches_cpu_float(void) { lqr_matches_cpu<float>(); }

// The emulated gradient against central differences of the emulated solve (double): L = dtau . tau.
static void test_lqr_gradient_fd(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 29, 1);
    const int n = 2, m = 2, T_ = 5, NN = n + m;
    lqr_case<double> k = make_lqr_case<double>(&rng, n, m, T_, 1);
    std::vector<double> dtau((size_t)(T_ * NN)), tau(dtau.size()), lam((size_t)(T_ * n));
    for (auto &v : dtau) v = dopt_rng_normal_d(&rng);
    std::vector<double> work((size_t)dopt_cuda_lqr_element_reals(n, m, T_)), smem((size_t)dopt_cuda_lqr_shared_reals(n, m));
    dopt_cuda_seq<double> ta = {tau.data(), NN, 0}, la = {lam.data(), n, 0};
    ptrdiff_t first;
    auto loss = [&](const lqr_case<double> &q) {
        dopt_cuda_emulate_lqr_solve<double>(1, n, m, T_, q.data(), ta, la, (int *)0, (dopt_status *)0, work.data(),
                                            smem.data(), 3, false, &first);
        double L = 0;
        for (size_t i = 0; i < tau.size(); ++i) L += dtau[i] * tau[i];
        return L;
    };
    loss(k);
    std::vector<double> gC(k.C.size()), gc(k.c.size()), gF(k.F.size()), gf(k.f.size()), gx(k.x0.size());
    dopt_cuda_lqr_grad<double> g = {{gC.data(), NN * NN, 1}, {gc.data(), NN, 1}, {gF.data(), n * NN, 1}, {gf.data(), n, 1},
                                    {gx.data(), 0, 1}};
    dopt_cuda_cseq<double> dt = {dtau.data(), NN, 0};
    DOPT_CHECK(dopt_cuda_emulate_lqr_backward<double>(1, n, m, T_, k.data(), dopt__cuda_const(ta), dopt__cuda_const(la), dt,
                                                      g, work.data(), smem.data(), 3, false) == DOPT_OK,
               "emulated backward failed");
    const double h = 1e-6;
    double worst = 0;
    auto fd = [&](std::vector<double> &v, size_t i, double an, bool sym_pair, size_t j) {
        lqr_case<double> p = k, q = k;
        std::vector<double> &vp = v == k.C ? p.C : v == k.c ? p.c : v == k.F ? p.F : v == k.f ? p.f : p.x0;
        std::vector<double> &vq = v == k.C ? q.C : v == k.c ? q.c : v == k.F ? q.F : v == k.f ? q.f : q.x0;
        vp[i] += h; vq[i] -= h;
        if (sym_pair && j != i) { vp[j] += h; vq[j] -= h; }
        double num = (loss(p) - loss(q)) / (2 * h);
        worst = std::max(worst, std::fabs(num - an) / std::max(1.0, std::fabs(num)));
    };
    for (int t = 0; t < T_; ++t)
        for (int i = 0; i < NN; ++i) {
            fd(k.c, (size_t)(t * NN + i), gc[(size_t)(t * NN + i)], false, 0);
            for (int j = 0; j <= i; ++j) { // symmetric perturbation of C: d/dC_ij + d/dC_ji
                size_t a = (size_t)(t * NN * NN + i + j * NN), b = (size_t)(t * NN * NN + j + i * NN);
                fd(k.C, a, a == b ? gC[a] : gC[a] + gC[b], true, b);
            }
        }
    for (size_t i = 0; i < k.F.size(); ++i) fd(k.F, i, gF[i], false, 0);
    for (size_t i = 0; i < k.f.size(); ++i) fd(k.f, i, gf[i], false, 0);
    for (size_t i = 0; i < k.x0.size(); ++i) fd(k.x0, i, gx[i], false, 0);
    DOPT_CHECK(worst <= 1e-6, "emulated LQR gradient vs central differences: %g", worst);
}

// ---- pose-graph normal equations: the edge operator against dopt_lie.h's between cost ------------------
static dopt_status cpu_between(const float *m, const float *const *v, float *r, float *const *J)
{
    dopt_lie_between_data_f d;
    memcpy(d.measurement, m, 7 * sizeof(float));
    return dopt_lie_cost_between_se3_f(&d, v, r, J);
}
static dopt_status cpu_between(const double *m, const double *const *v, double *r, double *const *J)
{
    dopt_lie_between_data_d d;
    memcpy(d.measurement, m, 7 * sizeof(double));
    return dopt_lie_cost_between_se3_d(&d, v, r, J);
}
template <typename T> static void graph_normal(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 37, 3);
    const int P = 5, E = 8, B = 3, ij[2 * E] = {0, 1, 1, 2, 2, 3, 3, 4, 0, 2, 1, 3, 4, 0, 2, 1};
    std::vector<T> poses((size_t)(B * 7 * P)), meas((size_t)(B * 7 * E)), L((size_t)(B * 36 * E));
    for (size_t k = 0; k + 7 <= poses.size(); k += 7) {
        double x[7];
        dopt_se3_random_d(&rng, x);
        for (int i = 0; i < 7; ++i) poses[k + (size_t)i] = (T)x[i];
    }
    for (size_t k = 0; k + 7 <= meas.size(); k += 7) {
        double x[7];
        dopt_se3_random_d(&rng, x);
        for (int i = 0; i < 7; ++i) meas[k + (size_t)i] = (T)x[i];
    }
    for (size_t k = 0; k < L.size(); ++k) L[k] = (T)((k % 36) % 7 == 0 ? 2 + dopt_rng_uniform_d(&rng) : ((k % 36) / 6 < (k % 36) % 6 ? 0.3 * dopt_rng_normal_d(&rng) : 0));
    const ptrdiff_t NB = P + E;
    for (int whiten = 0; whiten < 2; ++whiten) {
        std::vector<T> H((size_t)(B * 36 * NB), T(9)), g((size_t)(B * 6 * P), T(9)), cost((size_t)B, T(9));
        std::fill(H.begin(), H.end(), T(0)); std::fill(g.begin(), g.end(), T(0)); std::fill(cost.begin(), cost.end(), T(0));
        dopt_cuda_se3_graph_normal_op<T> op = {P, E, ij, (const int *)0, poses.data(), 7 * P, meas.data(), 7 * E,
                                               whiten ? L.data() : (const T *)0, 36 * E, H.data(), 36 * NB, g.data(), 6 * P,
                                               cost.data()};
        dopt_cuda_host_each(B * E, op);
        // the reference: dense J (6E x 6P) and r from dopt_lie.h, whitened, then JᵀJ, Jᵀr, 1/2|r|²
        double worst = 0;
        for (int b = 0; b < B; ++b) {
            std::vector<double> J((size_t)(6 * E * 6 * P), 0), r((size_t)(6 * E));
            for (int e = 0; e < E; ++e) {
                const T *v[2] = {poses.data() + (size_t)(b * 7 * P + 7 * ij[2 * e]), poses.data() + (size_t)(b * 7 * P + 7 * ij[2 * e + 1])};
                T re[6], Ji[36], Jj[36], *Jp[2] = {Ji, Jj};
                cpu_between(meas.data() + (size_t)(b * 7 * E + 7 * e), v, re, Jp);
                const T *Le = L.data() + (size_t)(b * 36 * E + 36 * e);
                for (int a = 0; a < 6; ++a) {
                    double acc = 0;
                    for (int q = 0; q < 6; ++q) acc += (whiten ? (double)Le[6 * a + q] : (a == q)) * re[q];
                    r[(size_t)(6 * e + a)] = acc;
                    for (int c = 0; c < 6; ++c) {
                        double si = 0, sj = 0;
                        for (int q = 0; q < 6; ++q) {
                            double l = whiten ? (double)Le[6 * a + q] : (a == q);
                            si += l * Ji[6 * q + c];
                            sj += l * Jj[6 * q + c];
                        }
                        J[(size_t)((6 * e + a) * 6 * P + 6 * ij[2 * e] + c)] += si;
                        J[(size_t)((6 * e + a) * 6 * P + 6 * ij[2 * e + 1] + c)] += sj;
                    }
                }
            }
            // dense H from the operator's blocks (the default layout; the (i,j) block and its transpose)
            std::vector<double> Hd((size_t)(36 * P * P), 0);
            const T *Hb = H.data() + (size_t)(b * 36 * NB);
            for (int p = 0; p < P; ++p)
                for (int a = 0; a < 6; ++a)
                    for (int c = 0; c < 6; ++c) Hd[(size_t)((6 * p + a) * 6 * P + 6 * p + c)] += Hb[36 * p + 6 * a + c];
            for (int e = 0; e < E; ++e)
                for (int a = 0; a < 6; ++a)
                    for (int c = 0; c < 6; ++c) {
                        double v = Hb[36 * (P + e) + 6 * a + c];
                        Hd[(size_t)((6 * ij[2 * e] + a) * 6 * P + 6 * ij[2 * e + 1] + c)] += v;
                        Hd[(size_t)((6 * ij[2 * e + 1] + c) * 6 * P + 6 * ij[2 * e] + a)] += v;
                    }
            double half = 0;
            for (int e = 0; e < 6 * E; ++e) half += 0.5 * r[(size_t)e] * r[(size_t)e];
            double sc = std::max(1.0, std::fabs(half));
            worst = std::max(worst, std::fabs(half - cost[(size_t)b]) / sc);
            for (int u = 0; u < 6 * P; ++u) {
                double gu = 0;
                for (int q = 0; q < 6 * E; ++q) gu += J[(size_t)(q * 6 * P + u)] * r[(size_t)q];
                worst = std::max(worst, std::fabs(gu - g[(size_t)(b * 6 * P + u)]) / std::max(1.0, std::fabs(gu)));
                for (int w = 0; w < 6 * P; ++w) {
                    double h = 0;
                    for (int q = 0; q < 6 * E; ++q) h += J[(size_t)(q * 6 * P + u)] * J[(size_t)(q * 6 * P + w)];
                    worst = std::max(worst, std::fabs(h - Hd[(size_t)(u * 6 * P + w)]) / std::max(1.0, std::fabs(h)));
                }
            }
        }
        DOPT_CHECK(worst <= 100 * cases_tol<T>(), "pose-graph normal equations (%s, whiten %d): error %g",
                   sizeof(T) == 4 ? "float" : "double", whiten, worst);
    }
}
static void test_graph_normal_double(void) { graph_normal<double>(); }
static void test_graph_normal_float(void) { graph_normal<float>(); }

// A whole Levenberg-Marquardt iteration from the GPU path's pieces (normal equations, dense matrix,
// batched Cholesky, retraction), run on the host: a batch of consistent graphs converges to cost 0.
template <typename T> static void graph_lm(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 43, 7);
    const int P = 6, E = 9, B = 4, n = 6 * P, ij[2 * E] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 0, 0, 3, 1, 4, 2, 5};
    std::vector<T> truth((size_t)(B * 7 * P)), x(truth.size()), meas((size_t)(B * 7 * E));
    for (int k = 0; k < B * P; ++k) {
        double t[7], xi[6], d[7], y[7];
        dopt_se3_random_d(&rng, t);
        for (int i = 0; i < 6; ++i) xi[i] = 0.15 * dopt_rng_normal_d(&rng);
        dopt_se3_exp_d(xi, d, NULL);
        dopt_se3_compose_d(t, d, y, NULL, NULL);
        for (int i = 0; i < 7; ++i) { truth[(size_t)(7 * k + i)] = (T)t[i]; x[(size_t)(7 * k + i)] = (T)y[i]; }
    }
    for (int b = 0; b < B; ++b)
        for (int e = 0; e < E; ++e) {
            T c[7];
            dopt_cuda_se3_between(truth.data() + 7 * (b * P + ij[2 * e]), truth.data() + 7 * (b * P + ij[2 * e + 1]), c, (T *)0, (T *)0);
            for (int i = 0; i < 7; ++i) meas[(size_t)(7 * (b * E + e) + i)] = c[i];
        }
    const ptrdiff_t NB = P + E;
    std::vector<T> H((size_t)(B * 36 * NB)), g((size_t)(B * n)), cost((size_t)B), A((size_t)(B * n * n)), first;
    for (int it = 0; it < 12; ++it) {
        std::fill(H.begin(), H.end(), T(0)); std::fill(g.begin(), g.end(), T(0)); std::fill(cost.begin(), cost.end(), T(0));
        std::fill(A.begin(), A.end(), T(0));
        dopt_cuda_se3_graph_normal_op<T> op = {P, E, ij, (const int *)0, x.data(), 7 * P, meas.data(), 7 * E, (const T *)0, 0,
                                               H.data(), 36 * NB, g.data(), n, cost.data()};
        dopt_cuda_host_each(B * E, op);
        if (it == 0) first = cost;
        dopt_cuda_se3_graph_dense_op<T> dop = {P, E, ij, H.data(), 36 * NB, T(1e-4), A.data(), (ptrdiff_t)n * n};
        dopt_cuda_host_each(B * NB * 36, dop);
        for (int b = 0; b < B; ++b) {
            bool nf = false;
            int fail = dopt_cuda_potrf_one(n, A.data() + (size_t)(b * n * n), n, &nf);
            DOPT_CHECK(fail < 0, "LM iteration %d element %d: damped matrix not positive definite at %d", it, b, fail);
            for (int u = 0; u < n; ++u) g[(size_t)(b * n + u)] = -g[(size_t)(b * n + u)];
            dopt_cuda_potrs_one(n, 1, A.data() + (size_t)(b * n * n), n, g.data() + (size_t)(b * n), n);
        }
        dopt_cuda_se3_retract_op<T> rop = {x.data(), 7, g.data(), 6};
        dopt_cuda_host_each(B * P, rop);
    }
    for (int b = 0; b < B; ++b)
        DOPT_CHECK(first[(size_t)b] > 1e-3 && cost[(size_t)b] <= (sizeof(T) == 4 ? 1e-8 : 1e-20),
                   "LM on consistent graph %d (%s): cost %g -> %g", b, sizeof(T) == 4 ? "float" : "double",
                   (double)first[(size_t)b], (double)cost[(size_t)b]);
}
static void test_graph_lm_double(void) { graph_lm<double>(); }
static void test_graph_lm_float(void) { graph_lm<float>(); }

static void suite(void)
{
    DOPT_TEST_RUN(test_lie_matches_cpu_double);
    DOPT_TEST_RUN(test_lie_matches_cpu_float);
    DOPT_TEST_RUN(test_lie_jacobians_fd);
    DOPT_TEST_RUN(test_potrf_matches_cpu_double);
    DOPT_TEST_RUN(test_potrf_matches_cpu_float);
    DOPT_TEST_RUN(test_anderson_double);
    DOPT_TEST_RUN(test_anderson_float);
    DOPT_TEST_RUN(test_anderson_affine_fixed_point);
    DOPT_TEST_RUN(test_cem_normals);
    DOPT_TEST_RUN(test_cem_rank_and_update);
    DOPT_TEST_RUN(test_cem_converges);
    DOPT_TEST_RUN(test_block_kernels_double);
    DOPT_TEST_RUN(test_block_kernels_float);
    DOPT_TEST_RUN(test_lqr_matches_cpu_double);
    DOPT_TEST_RUN(test_lqr_matches_cpu_float);
    DOPT_TEST_RUN(test_lqr_gradient_fd);
    DOPT_TEST_RUN(test_graph_normal_double);
    DOPT_TEST_RUN(test_graph_normal_float);
    DOPT_TEST_RUN(test_graph_lm_double);
    DOPT_TEST_RUN(test_graph_lm_float);
}
DOPT_TEST_MAIN(suite)
