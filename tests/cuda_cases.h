/* tests/cuda_cases.h — inputs and CPU references shared by tests/test_cuda_host.cpp (host build of
 * dopt_cuda.cuh's element functions, g++) and tests/cuda_test.cu (the GPU kernels, nvcc).
 * Include after dopt_lie.h and dopt_cuda.cuh (implementation defined by the including file). */
#ifndef DOPT_CUDA_CASES_H
#define DOPT_CUDA_CASES_H
#include <math.h>
#include <stddef.h>
#include <vector>

/* ---- the CPU functions, overloaded on the real type ------------------------------------------- */
#define CASES_UNARY(name)                                                                             \
    static inline void cpu_##name(long n, const float *x, long sx, float *y, long sy, float *J)        \
    { dopt_##name##_batch_f(n, x, sx, y, sy, J); }                                                      \
    static inline void cpu_##name(long n, const double *x, long sx, double *y, long sy, double *J)     \
    { dopt_##name##_batch_d(n, x, sx, y, sy, J); }
#define CASES_BINARY(name)                                                                            \
    static inline void cpu_##name(long n, const float *a, long sa, const float *b, long sb, float *c,  \
                                  long sc, float *Ja, float *Jb)                                       \
    { dopt_##name##_batch_f(n, a, sa, b, sb, c, sc, Ja, Jb); }                                          \
    static inline void cpu_##name(long n, const double *a, long sa, const double *b, long sb,          \
                                  double *c, long sc, double *Ja, double *Jb)                          \
    { dopt_##name##_batch_d(n, a, sa, b, sb, c, sc, Ja, Jb); }
CASES_UNARY(so3_exp)
CASES_UNARY(so3_log)
CASES_UNARY(se3_exp)
CASES_UNARY(se3_log)
CASES_BINARY(so3_compose)
CASES_BINARY(so3_act)
CASES_BINARY(se3_compose)
CASES_BINARY(se3_between)
CASES_BINARY(se3_act)
static inline dopt_status cpu_potrf(int n, float *A, int lda, int *col) { return dopt_potrf_f(n, A, lda, col); }
static inline dopt_status cpu_potrf(int n, double *A, int lda, int *col) { return dopt_potrf_d(n, A, lda, col); }
static inline void cpu_potrs(int n, int r, const float *L, int ldl, float *B, int ldb) { dopt_potrs_f(n, r, L, ldl, B, ldb); }
static inline void cpu_potrs(int n, int r, const double *L, int ldl, double *B, int ldb) { dopt_potrs_d(n, r, L, ldl, B, ldb); }

/* ---- inputs ------------------------------------------------------------------------------------- */

/* Rotation angles every Lie test visits first (then random angles in [0, π]). */
static const double cases_angles[] = {0, 1e-12, 1e-8, 1e-4, 0.3, 2.0, 3.14159165358979, 3.141592653589793};
#define CASES_NUM_ANGLES ((int)(sizeof cases_angles / sizeof cases_angles[0]))

/* Tangent k of a test batch: angle-axis with the k-th edge angle (random beyond), translation part
 * standard normal when tdim = 6.  Written to x[0 .. tdim). */
template <typename T> void cases_tangent(dopt_rng *rng, int k, int tdim, T *x)
{
    double a[3], n, th = k < CASES_NUM_ANGLES ? cases_angles[k] : 3.141592653589793 * dopt_rng_uniform_d(rng);
    do {
        a[0] = dopt_rng_normal_d(rng); a[1] = dopt_rng_normal_d(rng); a[2] = dopt_rng_normal_d(rng);
        n = sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2]);
    } while (n < 1e-6);
    int o = tdim == 6 ? 3 : 0;
    for (int i = 0; i < 3; ++i) x[o + i] = (T)(th * a[i] / n);
    if (tdim == 6)
        for (int i = 0; i < 3; ++i) x[i] = (T)dopt_rng_normal_d(rng);
}

/* Group element k: Exp of tangent k (double, then rounded to T); every third quaternion negated
 * (q and -q are the same rotation: exercises the sign fix). */
template <typename T> void cases_element(dopt_rng *rng, int k, int gdim, T *g)
{
    double x[6], q[7];
    cases_tangent(rng, k, gdim == 7 ? 6 : 3, x);
    if (gdim == 7) dopt_se3_exp_d(x, q, NULL);
    else dopt_so3_exp_d(x, q, NULL);
    int o = gdim == 7 ? 3 : 0;
    if (k % 3 == 2)
        for (int i = 0; i < 4; ++i) q[o + i] = -q[o + i];
    for (int i = 0; i < gdim; ++i) g[i] = (T)q[i];
}

/* A strided batch of n tangents / elements / points (stride = size + pad; pad entries hold 777). */
enum cases_kind { CASES_SO3_TANGENT, CASES_SE3_TANGENT, CASES_SO3, CASES_SE3, CASES_POINT };
static inline int cases_size(cases_kind kd)
{
    return kd == CASES_SO3_TANGENT || kd == CASES_POINT ? 3 : kd == CASES_SE3_TANGENT ? 6 : kd == CASES_SO3 ? 4 : 7;
}
template <typename T> std::vector<T> cases_batch(dopt_rng *rng, cases_kind kd, long n, long stride)
{
    std::vector<T> v((size_t)(n * stride), (T)777);
    for (long k = 0; k < n; ++k) {
        T *x = &v[(size_t)(k * stride)];
        switch (kd) {
        case CASES_SO3_TANGENT: cases_tangent(rng, (int)k, 3, x); break;
        case CASES_SE3_TANGENT: cases_tangent(rng, (int)k, 6, x); break;
        case CASES_SO3: cases_element(rng, (int)k, 4, x); break;
        case CASES_SE3: cases_element(rng, (int)k, 7, x); break;
        case CASES_POINT:
            for (int i = 0; i < 3; ++i) x[i] = (T)(3 * dopt_rng_normal_d(rng));
            break;
        }
    }
    return v;
}

/* A random SPD n x n column-major matrix (lda = n): M Mᵀ + n I, M standard normal. */
template <typename T> void cases_spd(dopt_rng *rng, int n, T *A)
{
    std::vector<double> M((size_t)n * n);
    for (size_t i = 0; i < M.size(); ++i) M[i] = dopt_rng_normal_d(rng);
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < n; ++i) {
            double s = i == j ? n : 0;
            for (int k = 0; k < n; ++k) s += M[i + (size_t)k * n] * M[j + (size_t)k * n];
            A[i + (size_t)j * n] = (T)s;
        }
}

/* max over i of |a_i - b_i| / max(1, |b_i|) (the tests' relative error with an absolute floor). */
template <typename T> double cases_err(size_t n, const T *a, const T *b)
{
    double e = 0;
    for (size_t i = 0; i < n; ++i) {
        double s = fabs((double)b[i]) > 1 ? fabs((double)b[i]) : 1, d = fabs((double)a[i] - (double)b[i]) / s;
        if (d != d) return 1e300; /* NaN: a failure */
        if (d > e) e = d;
    }
    return e;
}
/* ---- batched LQR: a random problem (C_t = M Mᵀ/N + I, per element and step) ---------------------- */
template <typename T> struct lqr_case {
    int n, m, T_;
    ptrdiff_t B;
    std::vector<T> C, c, F, f, x0;
    dopt_cuda_lqr_data<T> data() const
    {
        const int NN = n + m;
        dopt_cuda_lqr_data<T> d = {{C.data(), (ptrdiff_t)NN * NN, (ptrdiff_t)T_ * NN * NN},
                                   {c.data(), NN, (ptrdiff_t)T_ * NN},
                                   {F.data(), (ptrdiff_t)n * NN, (ptrdiff_t)(T_ - 1) * n * NN},
                                   {f.data(), n, (ptrdiff_t)(T_ - 1) * n},
                                   {x0.data(), 0, n}};
        return d;
    }
};
template <typename T> lqr_case<T> make_lqr_case(dopt_rng *rng, int n, int m, int T_, ptrdiff_t B)
{
    const int NN = n + m;
    lqr_case<T> k;
    k.n = n; k.m = m; k.T_ = T_; k.B = B;
    k.C.resize((size_t)(B * T_ * NN * NN)); k.c.resize((size_t)(B * T_ * NN));
    k.F.resize((size_t)(B * (T_ - 1) * n * NN)); k.f.resize((size_t)(B * (T_ - 1) * n)); k.x0.resize((size_t)(B * n));
    std::vector<double> M((size_t)(NN * NN));
    for (ptrdiff_t bt = 0; bt < B * T_; ++bt) { // C = M Mᵀ / NN + I: well conditioned, positive definite
        for (auto &v : M) v = dopt_rng_normal_d(rng);
        for (int i = 0; i < NN; ++i)
            for (int j = 0; j < NN; ++j) {
                double acc = i == j ? 1.0 : 0.0;
                for (int q = 0; q < NN; ++q) acc += M[(size_t)(i + q * NN)] * M[(size_t)(j + q * NN)] / NN;
                k.C[(size_t)(bt * NN * NN + i + j * NN)] = (T)acc;
            }
    }
    for (auto &v : k.c) v = (T)dopt_rng_normal_d(rng);
    for (auto &v : k.F) v = (T)(0.4 * dopt_rng_normal_d(rng));
    for (auto &v : k.f) v = (T)(0.3 * dopt_rng_normal_d(rng));
    for (auto &v : k.x0) v = (T)dopt_rng_normal_d(rng);
    return k;
}

template <typename T> double cases_tol() { return sizeof(T) == sizeof(float) ? 1e-5 : 1e-12; }
#endif
