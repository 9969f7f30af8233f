/* dopt_cuda.cuh — optional CUDA batch kernels for dopt: Lie groups (SO3, SE3 with Jacobians), small
 * dense Cholesky factorizations and solves, a batched Anderson mixing step, and CEM sampling and
 * elite update.  (C++/CUDA)
 *
 * WHAT THIS IS
 *   Learning pipelines run batches of thousands of small problems on a GPU.  This header carries
 *   dopt's batch APIs there with its own kernels (no cuBLAS / cuSOLVER needed), so that choosing
 *   the CPU or the GPU is a measured crossover, not a rewrite:
 *     - Lie groups, one element per thread: SO3 and SE3 exp, log, compose, act (and SE3 between),
 *       each with its optional Jacobians, the same formulas and conventions as dopt_lie.h (right
 *       perturbations, row-major Jacobians, [qx qy qz qw] quaternions, [v; w] tangents);
 *     - batched Cholesky A = L Lᵀ and the solve B <- A⁻¹ B with its factor, for n <= 64, one thread
 *       block per matrix, the matrix held in shared memory;
 *     - batched LQR (dopt_mpc.h's problem without control bounds, n + m <= 32): the Riccati sweep,
 *       rollout and multipliers forward, the adjoint-LQR gradients backward, one block per problem;
 *     - the Gauss-Newton normal equations of a batch of SE3 pose graphs of one structure (between
 *       edges as dopt_lie.h's cost, whitened; 6x6 blocks, gradient and cost), one thread per edge;
 *       for graphs of up to 10 poses the dense damped matrix and the SE3 retraction, so that with
 *       the batched Cholesky a whole LM iteration of the batch stays on the GPU;
 *     - a batched Anderson (type II) mixing step, one block per problem;
 *     - the cross-entropy method's sampling (counter-based normals: the same numbers on the host
 *       and on every GPU) and its elite selection + mean/std update, one block per problem.
 *   The per-element math is written once, as `__host__ __device__` inline templates: the kernels
 *   call them on the GPU, and a plain C++ compiler (g++, clang++) compiles the very same functions
 *   for the host, where tests/test_cuda_host.cpp checks them against dopt_lie.h and dopt.h without a
 *   GPU.  The block-per-problem kernels are likewise sequences of `__host__ __device__` phases
 *   (one function of the thread index per phase, between barriers), which dopt_cuda_emulate_* run
 *   in lockstep on the host.  Everything that needs the CUDA toolkit sits behind
 *   `#ifdef __CUDACC__`.
 *
 * HOW TO USE
 *   In exactly one .cu file:   #define DOPT_IMPLEMENTATION
 *                              #include "dopt_cuda.cuh"        (brings dopt.h in too)
 *   compile with nvcc (e.g. -gencode arch=compute_90,code=sm_90), link -lcudart.  Other .cu files
 *   include it without DOPT_IMPLEMENTATION.  A host-only C++ file may include it to get the
 *   element functions (namespace-free templates named dopt_cuda_*) without CUDA.
 *
 * HOST API (under __CUDACC__): conventions
 *   - Every array argument is a DEVICE pointer; every call takes the cudaStream_t it is queued on
 *     (0 = the legacy default stream) and returns dopt_status with a trailing dopt_errinfo *info
 *     (may be NULL).  Functions exist as _f and _d.
 *   - Batches: ptrdiff_t counts and strides in reals, as dopt.h (element k reads x + k * sx).
 *     Jacobian batches are packed blocks of the single-element size (J + 9k, J + 36k, ...), as the
 *     CPU batch functions of dopt_lie.h.
 *   - Asynchronous by default: the Lie kernels, potrs and CEM sampling never fail per element
 *     (inputs are assumed finite and near-normalized, as on the CPU), so they return after the
 *     launch; DOPT_OK then means "validated and queued".  The factorization, the Anderson step and
 *     the CEM update can fail per element (not positive definite, non-finite): they write each
 *     element's status to an optional device array and then synchronize the stream once to read
 *     back the first failing element (one 8-byte copy), so that their return value is the first
 *     failing element's status with info->index = that element, as on the CPU.
 *   - Memory: the caller provides device workspace where a function needs any, its size in bytes
 *     from the matching *_workspace_size function (a few bytes; nothing allocates).  No global
 *     state: different streams and devices may run concurrently.
 *   - CUDA errors map to dopt statuses (info->message holds CUDA's own text):
 *       cudaErrorMemoryAllocation                          -> DOPT_ERR_ALLOCATION
 *       invalid value / configuration / device pointer, illegal or misaligned address
 *                                                          -> DOPT_ERR_INVALID_ARGUMENT
 *       no device, no kernel image for this device, insufficient driver, anything else
 *                                                          -> DOPT_ERR_UNSUPPORTED
 *     An error left pending by earlier, unrelated CUDA work on the thread is reported by the next
 *     call (the runtime's last-error slot is read after each launch).
 *
 * NOT YET HERE (planned; see the issue tracker): box-constrained LQR and iLQR on the GPU, the
 * rest of the least-squares batch path (the batched sparse Cholesky of the normal equations' pattern
 * for graphs beyond 10 poses, step acceptance on the device; other group costs), LDLᵀ, SO2/SE2/Sim3
 * kernels.
 *
 * MINIMAL EXAMPLE (nvcc -std=c++14 -I. ex.cu)
 *       #define DOPT_IMPLEMENTATION
 *       #include "dopt_cuda.cuh"
 *       int main(void) {
 *           double *xi, *T;  ptrdiff_t n = 1000000;
 *           cudaMalloc(&xi, n * 6 * sizeof(double)); cudaMalloc(&T, n * 7 * sizeof(double));
 *           // ... fill xi ...
 *           dopt_status s = dopt_cuda_se3_exp_batch_d(n, xi, 6, T, 7, NULL, 0, NULL);
 *           cudaDeviceSynchronize();
 *           return s != DOPT_OK;
 *       }
 *
 * LICENSE: MIT (see dopt.h).
 */
#ifndef DOPT_CUDA_CUH
#define DOPT_CUDA_CUH
#include "dopt.h"
#include <float.h>
#include <math.h>
#include <stddef.h>

#ifdef __CUDACC__
#include <cuda_runtime.h>
#define DOPT_CUDA_HD __host__ __device__ __forceinline__
#else
#define DOPT_CUDA_HD inline
#endif

/* =============================================================================================== */
/* Element functions (host and device).                                                           */
/* =============================================================================================== */

/* Per-precision constants: the Taylor-switch threshold of dopt_lie.h (θ² below which the Jacobian
 * coefficients use their series) and machine epsilon. */
template <typename T> struct dopt_cuda_real;
template <> struct dopt_cuda_real<float> {
    static DOPT_CUDA_HD float small_angle2() { return 0.1f; }
    static DOPT_CUDA_HD float eps() { return FLT_EPSILON; }
};
template <> struct dopt_cuda_real<double> {
    static DOPT_CUDA_HD double small_angle2() { return 1e-3; }
    static DOPT_CUDA_HD double eps() { return DBL_EPSILON; }
};
DOPT_CUDA_HD float dopt__cuda_sqrt(float x) { return sqrtf(x); }
DOPT_CUDA_HD double dopt__cuda_sqrt(double x) { return sqrt(x); }
DOPT_CUDA_HD float dopt__cuda_sin(float x) { return sinf(x); }
DOPT_CUDA_HD double dopt__cuda_sin(double x) { return sin(x); }
DOPT_CUDA_HD float dopt__cuda_cos(float x) { return cosf(x); }
DOPT_CUDA_HD double dopt__cuda_cos(double x) { return cos(x); }
DOPT_CUDA_HD float dopt__cuda_fabs(float x) { return fabsf(x); }
DOPT_CUDA_HD double dopt__cuda_fabs(double x) { return fabs(x); }
/* finite test without isfinite (x - x is NaN for Inf and NaN) */
template <typename T> DOPT_CUDA_HD bool dopt__cuda_finite(T x) { return x - x == 0; }

/* ---- small helpers (row-major 3x3) --------------------------------------------------------------- */

template <typename T> DOPT_CUDA_HD void dopt__cuda_cross(const T *a, const T *b, T *c)
{
    T x = a[1] * b[2] - a[2] * b[1], y = a[2] * b[0] - a[0] * b[2], z = a[0] * b[1] - a[1] * b[0];
    c[0] = x; c[1] = y; c[2] = z;
}

template <typename T> DOPT_CUDA_HD void dopt__cuda_skew(const T *v, T *M)
{
    M[0] = 0;     M[1] = -v[2]; M[2] = v[1];
    M[3] = v[2];  M[4] = 0;     M[5] = -v[0];
    M[6] = -v[1]; M[7] = v[0];  M[8] = 0;
}

/* C = A B (3x3 row-major); C must not alias A or B. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_mul3(const T *A, const T *B, T *C)
{
    for (int i = 0; i < 3; ++i) {
        C[3 * i + 0] = A[3 * i] * B[0] + A[3 * i + 1] * B[3] + A[3 * i + 2] * B[6];
        C[3 * i + 1] = A[3 * i] * B[1] + A[3 * i + 1] * B[4] + A[3 * i + 2] * B[7];
        C[3 * i + 2] = A[3 * i] * B[2] + A[3 * i + 1] * B[5] + A[3 * i + 2] * B[8];
    }
}

/* Write the 3x3 block S, scaled by s, into the n-column row-major M at (r0, c0). */
template <typename T> DOPT_CUDA_HD void dopt__cuda_put3(T *M, int n, int r0, int c0, const T *S, T s)
{
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) M[(r0 + i) * n + c0 + j] = s * S[3 * i + j];
}

template <typename T> DOPT_CUDA_HD void dopt__cuda_eye(T *M, int n)
{
    for (int i = 0; i < n * n; ++i) M[i] = 0;
    for (int i = 0; i < n; ++i) M[i * n + i] = 1;
}

/* M = a0 I + a1 W + a2 W², W = [w]x, through W² = w wᵀ - θ² I. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_so3_poly(const T *w, T a0, T a1, T a2, T *M)
{
    T th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2], d = a0 - a2 * th2;
    M[0] = d + a2 * w[0] * w[0];
    M[4] = d + a2 * w[1] * w[1];
    M[8] = d + a2 * w[2] * w[2];
    M[1] = a2 * w[0] * w[1] - a1 * w[2];
    M[3] = a2 * w[0] * w[1] + a1 * w[2];
    M[2] = a2 * w[0] * w[2] + a1 * w[1];
    M[6] = a2 * w[0] * w[2] - a1 * w[1];
    M[5] = a2 * w[1] * w[2] - a1 * w[0];
    M[7] = a2 * w[1] * w[2] + a1 * w[0];
}

/* Hamilton product c = a ⊗ b of [x y z w] quaternions; c may alias a or b. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_qmul(const T *a, const T *b, T *c)
{
    T x = a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1];
    T y = a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0];
    T z = a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3];
    T w = a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2];
    c[0] = x; c[1] = y; c[2] = z; c[3] = w;
}

/* y = R(q) p (y may alias p): t = 2 q_v x p, y = p + w t + q_v x t. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_qrot(const T *q, const T *p, T *y)
{
    T tx = T(2) * (q[1] * p[2] - q[2] * p[1]);
    T ty = T(2) * (q[2] * p[0] - q[0] * p[2]);
    T tz = T(2) * (q[0] * p[1] - q[1] * p[0]);
    T y0 = p[0] + q[3] * tx + q[1] * tz - q[2] * ty;
    T y1 = p[1] + q[3] * ty + q[2] * tx - q[0] * tz;
    T y2 = p[2] + q[3] * tz + q[0] * ty - q[1] * tx;
    y[0] = y0; y[1] = y1; y[2] = y2;
}

/* M (3x3 row-major) = R(q). */
template <typename T> DOPT_CUDA_HD void dopt__cuda_quat_to_matrix(const T *g, T *M)
{
    T x = g[0], y = g[1], z = g[2], w = g[3];
    T xx = x * x, yy = y * y, zz = z * z, xy = x * y, xz = x * z, yz = y * z, wx = w * x, wy = w * y, wz = w * z;
    M[0] = T(1) - T(2) * (yy + zz); M[1] = T(2) * (xy - wz); M[2] = T(2) * (xz + wy);
    M[3] = T(2) * (xy + wz); M[4] = T(1) - T(2) * (xx + zz); M[5] = T(2) * (yz - wx);
    M[6] = T(2) * (xz - wy); M[7] = T(2) * (yz + wx); M[8] = T(1) - T(2) * (xx + yy);
}

/* ---- SO3 kernels (the formulas of dopt_lie.h, see its "Speed" note) ----------------------------- */

/* q = Exp(w) = (k w, c), k = sin(θ/2)/θ, c = cos(θ/2), from Chebyshev fits in z = θ²/4 for θ <= π
 * (no trig call, no branch at 0), libm beyond.  A = (1 - cos θ)/θ² = 2k² and, when B is non-NULL,
 * B = (θ - sin θ)/θ³ = (1 - 2kc)/θ² (series below the small-angle threshold). */
template <typename T> DOPT_CUDA_HD void dopt__cuda_so3_exp_k(const T *w, T *q, T *A, T *B)
{
    T th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2], k, c, z = T(0.25) * th2;
    if (z <= T(2.4674011002723395)) {
        T z2 = z * z, z4 = z2 * z2;
        k = T(0.5) * ((T(1.0) + T(-0.16666666666666666) * z) +
                      z2 * (T(0.008333333333333186) + T(-0.00019841269841208638) * z) +
                      z4 * ((T(2.7557319211223257e-06) + T(-2.505210688997513e-08) * z) +
                            z2 * (T(1.6058940847832492e-10) + T(-7.643025738964345e-13) * z)) +
                      z4 * z4 * T(2.7215660921125597e-15));
        c = (T(1.0) + T(-0.4999999999999997) * z) + z2 * (T(0.04166666666666388) + T(-0.001388888888877292) * z) +
            z4 * ((T(2.4801587277402905e-05) + T(-2.7557316389900044e-07) * z) +
                  z2 * (T(2.0876561781878517e-09) + T(-1.1462900350687044e-11) * z)) +
            z4 * z4 * T(4.6089602423243444e-14);
    } else {
        T th = dopt__cuda_sqrt(th2);
        k = dopt__cuda_sin(T(0.5) * th) / th;
        c = dopt__cuda_cos(T(0.5) * th);
    }
    if (A) *A = T(2) * k * k;
    if (B) {
        if (th2 < dopt_cuda_real<T>::small_angle2())
            *B = T(1.0 / 6) - th2 * (T(1.0 / 120) - th2 * T(1.0 / 5040));
        else
            *B = (T(1) - T(2) * k * c) / th2;
    }
    q[0] = k * w[0]; q[1] = k * w[1]; q[2] = k * w[2]; q[3] = c;
}

/* atan2(y, x) for y, x >= 0 (not both 0), in [0, π/2]: reduction to |u| <= tan(π/8) and the
 * degree-11 Chebyshev fit of atan(√z)/√z of dopt_lie.h. */
template <typename T> DOPT_CUDA_HD T dopt__cuda_atan2p(T y, T x)
{
    bool lo = y <= T(0.41421356237309503) * x, hi = y >= T(2.414213562373095) * x;
    T num = lo ? y : hi ? -x : y - x;
    T den = lo ? x : hi ? y : y + x;
    T base = lo ? T(0) : hi ? T(1.5707963267948966) : T(0.78539816339744831);
    T u = num / den, z = u * u, z2 = z * z, z4 = z2 * z2;
    T p = (T(1.0) + T(-0.3333333333333312) * z) + z2 * (T(0.19999999999940837) + T(-0.14285714279244968) * z) +
          z4 * ((T(0.11111110744657099) + T(-0.09090896801472813) * z) +
                z2 * (T(0.07692045194561481) + T(-0.06662950246036792) * z)) +
          z4 * z4 * ((T(0.05846866752275139) + T(-0.05035049795312439) * z) +
                     z2 * (T(0.03796390316111083) + T(-0.017803896394812564) * z));
    return base + u * p;
}

/* w = Log(g) = f v, v the vector part of the sign-fixed quaternion (qw >= 0), f = θ/|v|; with v
 * and E non-NULL also v and E of Jr⁻¹(w) = (1 - E|v|²) I + W/2 + E v vᵀ. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_so3_log_k(const T *g, T *w, T *v, T *E)
{
    T x = g[0], y = g[1], z = g[2], qw = g[3], n2, f;
    if (qw < 0) { x = -x; y = -y; z = -z; qw = -qw; }
    n2 = x * x + y * y + z * z;
    if (n2 < dopt_cuda_real<T>::eps() * qw * qw) {
        f = T(2) / qw * (T(1) - n2 / (T(3) * qw * qw));
        if (E) *E = (T(1.0 / 12) + f * f * n2 * T(1.0 / 720)) * f * f;
    } else {
        T n = dopt__cuda_sqrt(n2), r = T(1) / n, th = T(2) * dopt__cuda_atan2p(n, qw);
        f = th * r;
        if (E) {
            T th2 = th * th;
            if (th2 < dopt_cuda_real<T>::small_angle2())
                *E = (T(1.0 / 12) + th2 * (T(1.0 / 720) + th2 * T(1.0 / 30240))) * f * f;
            else
                *E = (T(1) - T(0.5) * f * qw) * r * r;
        }
    }
    if (v) { v[0] = x; v[1] = y; v[2] = z; }
    w[0] = f * x; w[1] = f * y; w[2] = f * z;
}

/* J = (1 - E|v|²) I + [w]x/2 + E v vᵀ. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_so3_jrinv_v(const T *w, const T *v, T E, T *J)
{
    T c0 = T(1) - E * (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
    T e0 = E * v[0], e1 = E * v[1], e2 = E * v[2];
    T h0 = T(0.5) * w[0], h1 = T(0.5) * w[1], h2 = T(0.5) * w[2];
    J[0] = c0 + e0 * v[0]; J[1] = e0 * v[1] - h2; J[2] = e0 * v[2] + h1;
    J[3] = e0 * v[1] + h2; J[4] = c0 + e1 * v[1]; J[5] = e1 * v[2] - h0;
    J[6] = e0 * v[2] - h1; J[7] = e1 * v[2] + h0; J[8] = c0 + e2 * v[2];
}

/* dopt_cuda_so3_exp: g = Exp(w); J (3x3, optional) = Jr(w).  As dopt_so3_exp. */
template <typename T> DOPT_CUDA_HD void dopt_cuda_so3_exp(const T *w, T *g, T *J)
{
    T A, B, wc[3] = {w[0], w[1], w[2]};
    dopt__cuda_so3_exp_k(wc, g, &A, J ? &B : (T *)0);
    if (J) dopt__cuda_so3_poly(wc, T(1), -A, B, J);
}

/* dopt_cuda_so3_log: w = Log(g), |w| in [0, π]; J (3x3, optional) = Jr(w)⁻¹.  As dopt_so3_log. */
template <typename T> DOPT_CUDA_HD void dopt_cuda_so3_log(const T *g, T *w, T *J)
{
    if (J) {
        T E, v[3];
        dopt__cuda_so3_log_k(g, w, v, &E);
        dopt__cuda_so3_jrinv_v(w, v, E, J);
        return;
    }
    dopt__cuda_so3_log_k(g, w, (T *)0, (T *)0);
}

/* dopt_cuda_so3_compose: c = a · b; Ja (3x3) = R_bᵀ, Jb = I (optional).  As dopt_so3_compose. */
template <typename T> DOPT_CUDA_HD void dopt_cuda_so3_compose(const T *a, const T *b, T *c, T *Ja, T *Jb)
{
    if (Ja) {
        T Rb[9];
        dopt__cuda_quat_to_matrix(b, Rb);
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) Ja[3 * i + j] = Rb[3 * j + i];
    }
    if (Jb) dopt__cuda_eye(Jb, 3);
    dopt__cuda_qmul(a, b, c);
}

/* dopt_cuda_so3_act: y = R p; Jg (3x3) = -R [p]x, Jp = R (optional).  As dopt_so3_act. */
template <typename T> DOPT_CUDA_HD void dopt_cuda_so3_act(const T *g, const T *p, T *y, T *Jg, T *Jp)
{
    if (Jg || Jp) {
        T R[9], P[9], y0, y1, y2;
        dopt__cuda_quat_to_matrix(g, R);
        y0 = R[0] * p[0] + R[1] * p[1] + R[2] * p[2];
        y1 = R[3] * p[0] + R[4] * p[1] + R[5] * p[2];
        y2 = R[6] * p[0] + R[7] * p[1] + R[8] * p[2];
        if (Jg) {
            dopt__cuda_skew(p, P);
            dopt__cuda_mul3(R, P, Jg);
            for (int i = 0; i < 9; ++i) Jg[i] = -Jg[i];
        }
        if (Jp)
            for (int i = 0; i < 9; ++i) Jp[i] = R[i];
        y[0] = y0; y[1] = y1; y[2] = y2;
        return;
    }
    dopt__cuda_qrot(g, p, y);
}

/* ---- SE3 kernels ---------------------------------------------------------------------------------- */

/* SE3 Jacobian coefficients at θ² from sin and cos of θ/2 (as dopt_lie.h):
 *   A = (1 - cos θ)/θ², B = (θ - sin θ)/θ³, c2 = (θ² + 2 cos θ - 2)/(2θ⁴),
 *   c3 = (2θ - 3 sin θ + θ cos θ)/(2θ⁵), D = 1/θ² - cot(θ/2)/(2θ)  (series for small θ). */
template <typename T>
DOPT_CUDA_HD void dopt__cuda_se3_coef_sc(T th2, T sh, T ch, T *A, T *B, T *c2, T *c3, T *D)
{
    if (th2 < dopt_cuda_real<T>::small_angle2()) {
        *A = T(0.5) - th2 * (T(1.0 / 24) - th2 * T(1.0 / 720));
        *B = T(1.0 / 6) - th2 * (T(1.0 / 120) - th2 * T(1.0 / 5040));
        *c2 = T(1.0 / 24) - th2 * (T(1.0 / 720) - th2 * T(1.0 / 40320));
        *c3 = T(1.0 / 120) - th2 * (T(1.0 / 2520) - th2 * T(1.0 / 120960));
        *D = T(1.0 / 12) + th2 * (T(1.0 / 720) + th2 * T(1.0 / 30240));
    } else {
        T th = dopt__cuda_sqrt(th2), s = T(2) * sh * ch, c = T(1) - T(2) * sh * sh;
        *A = T(2) * sh * sh / th2;
        *B = (th - s) / (th2 * th);
        *c2 = (th2 - T(4) * sh * sh) / (T(2) * th2 * th2);
        *c3 = (T(2) * th - T(3) * s + th * c) / (T(2) * th2 * th2 * th);
        *D = T(1) / th2 - ch / (T(2) * th * sh);
    }
}

template <typename T> DOPT_CUDA_HD void dopt__cuda_se3_coef(T th2, T *A, T *B, T *c2, T *c3, T *D)
{
    T sh = 0, ch = 1;
    if (th2 >= dopt_cuda_real<T>::small_angle2()) {
        T h = T(0.5) * dopt__cuda_sqrt(th2);
        sh = dopt__cuda_sin(h);
        ch = dopt__cuda_cos(h);
    }
    dopt__cuda_se3_coef_sc(th2, sh, ch, A, B, c2, c3, D);
}

/* Barfoot's Q(v, w) (upper-right block of SE3's left Jacobian), in dopt_lie.h's product-free form
 *   Q = [s]x + B (v wᵀ + w vᵀ) - 2 c3 (w·v) w wᵀ + 2 (w·v)(c3 θ² - B) I,
 *   s = v/2 + (c2 - B)(w·v) w + c2 w x (w x v). */
template <typename T> DOPT_CUDA_HD void dopt__cuda_se3_q(const T *v, const T *w, T B, T c2, T c3, T *Q)
{
    T th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2], wv = w[0] * v[0] + w[1] * v[1] + w[2] * v[2];
    T x[3], y[3], sv[3], S[9], d = T(2) * wv * (c3 * th2 - B), e = T(2) * c3 * wv;
    dopt__cuda_cross(w, v, x);
    dopt__cuda_cross(w, x, y);
    for (int i = 0; i < 3; ++i) sv[i] = T(0.5) * v[i] + (c2 - B) * wv * w[i] + c2 * y[i];
    dopt__cuda_skew(sv, S);
    for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
            Q[3 * i + j] = S[3 * i + j] + B * (v[i] * w[j] + w[i] * v[j]) - e * w[i] * w[j] + (i == j ? d : T(0));
}

/* J (6x6) = Jl(xi) = [[Jl(w), Q(v, w)], [0, Jl(w)]]. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_se3_jl(const T *xi, T *J)
{
    T Jw[9], Q[9], A, B, c2, c3, D;
    const T *w = xi + 3;
    dopt__cuda_se3_coef(w[0] * w[0] + w[1] * w[1] + w[2] * w[2], &A, &B, &c2, &c3, &D);
    dopt__cuda_so3_poly(w, T(1), A, B, Jw);
    dopt__cuda_se3_q(xi, w, B, c2, c3, Q);
    for (int i = 0; i < 36; ++i) J[i] = 0;
    dopt__cuda_put3(J, 6, 0, 0, Jw, T(1));
    dopt__cuda_put3(J, 6, 0, 3, Q, T(1));
    dopt__cuda_put3(J, 6, 3, 3, Jw, T(1));
}

/* J (6x6) = Jl(xi)⁻¹ = [[Ai, -Ai Q Ai], [0, Ai]], Ai = I - W/2 + D W², from the coefficients. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_se3_jl_inv_c(const T *xi, T B, T c2, T c3, T D, T *J)
{
    T Ai[9], Q[9], P[9], M[9];
    const T *w = xi + 3;
    dopt__cuda_so3_poly(w, T(1), T(-0.5), D, Ai);
    dopt__cuda_se3_q(xi, w, B, c2, c3, Q);
    dopt__cuda_mul3(Ai, Q, P);
    dopt__cuda_mul3(P, Ai, M);
    for (int i = 0; i < 36; ++i) J[i] = 0;
    dopt__cuda_put3(J, 6, 0, 0, Ai, T(1));
    dopt__cuda_put3(J, 6, 0, 3, M, T(-1));
    dopt__cuda_put3(J, 6, 3, 3, Ai, T(1));
}

/* Ad(g) (6x6) = [[R, [t]x R], [0, R]]. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_se3_adjoint(const T *g, T *Ad)
{
    T R[9], S[9], SR[9];
    dopt__cuda_quat_to_matrix(g + 3, R);
    dopt__cuda_skew(g, S);
    dopt__cuda_mul3(S, R, SR);
    for (int i = 0; i < 36; ++i) Ad[i] = 0;
    dopt__cuda_put3(Ad, 6, 0, 0, R, T(1));
    dopt__cuda_put3(Ad, 6, 0, 3, SR, T(1));
    dopt__cuda_put3(Ad, 6, 3, 3, R, T(1));
}

/* b = a⁻¹ = (-Rᵀ t, conj(q)). */
template <typename T> DOPT_CUDA_HD void dopt__cuda_se3_inverse(const T *a, T *b)
{
    T qc[4] = {-a[3], -a[4], -a[5], a[6]}, t[3];
    dopt__cuda_qrot(qc, a, t);
    b[0] = -t[0]; b[1] = -t[1]; b[2] = -t[2];
    b[3] = qc[0]; b[4] = qc[1]; b[5] = qc[2]; b[6] = qc[3];
}

/* dopt_cuda_se3_exp: g = Exp(xi) (xi = [v; w]); J (6x6, optional) = Jr(xi) = Jl(-xi). */
template <typename T> DOPT_CUDA_HD void dopt_cuda_se3_exp(const T *xi, T *g, T *J)
{
    T A, B, w[3] = {xi[3], xi[4], xi[5]}, v[3] = {xi[0], xi[1], xi[2]}, wv[3], wwv[3];
    if (J) {
        T m[6];
        for (int i = 0; i < 6; ++i) m[i] = -xi[i];
        dopt__cuda_se3_jl(m, J);
    }
    /* t = Jl(w) v = v + A w x v + B w x (w x v) */
    dopt__cuda_cross(w, v, wv);
    dopt__cuda_cross(w, wv, wwv);
    dopt__cuda_so3_exp_k(w, g + 3, &A, &B);
    g[0] = v[0] + A * wv[0] + B * wwv[0];
    g[1] = v[1] + A * wv[1] + B * wwv[1];
    g[2] = v[2] + A * wv[2] + B * wwv[2];
}

/* dopt_cuda_se3_log: xi = Log(g) (rotation angle in [0, π]); J (6x6, optional) = Jr(xi)⁻¹. */
template <typename T> DOPT_CUDA_HD void dopt_cuda_se3_log(const T *g, T *xi, T *J)
{
    T w[3], q[3], E, wt[3], qt[3], qqt[3], t[3] = {g[0], g[1], g[2]}, qw = g[6];
    dopt__cuda_so3_log_k(g + 3, w, q, &E);
    /* v = Jl(w)⁻¹ t = t - w x t / 2 + E q x (q x t) */
    dopt__cuda_cross(w, t, wt);
    dopt__cuda_cross(q, t, qt);
    dopt__cuda_cross(q, qt, qqt);
    xi[0] = t[0] - T(0.5) * wt[0] + E * qqt[0];
    xi[1] = t[1] - T(0.5) * wt[1] + E * qqt[1];
    xi[2] = t[2] - T(0.5) * wt[2] + E * qqt[2];
    xi[3] = w[0]; xi[4] = w[1]; xi[5] = w[2];
    if (J) { /* Jr⁻¹(xi) = Jl⁻¹(-xi); sin and cos of θ/2 are |q_v| and |q_w| of the normalized q */
        T m[6], A, B, c2, c3, D, th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
        T n = dopt__cuda_sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
        T qn = dopt__cuda_sqrt(n * n + qw * qw);
        dopt__cuda_se3_coef_sc(th2, n / qn, dopt__cuda_fabs(qw) / qn, &A, &B, &c2, &c3, &D);
        for (int i = 0; i < 6; ++i) m[i] = -xi[i];
        dopt__cuda_se3_jl_inv_c(m, B, c2, c3, D, J);
    }
}

/* dopt_cuda_se3_compose: c = a · b; Ja (6x6) = Ad(b⁻¹), Jb = I (optional). */
template <typename T> DOPT_CUDA_HD void dopt_cuda_se3_compose(const T *a, const T *b, T *c, T *Ja, T *Jb)
{
    if (Ja) {
        T bi[7];
        dopt__cuda_se3_inverse(b, bi);
        dopt__cuda_se3_adjoint(bi, Ja);
    }
    if (Jb) dopt__cuda_eye(Jb, 6);
    T t[3], a0 = a[0], a1 = a[1], a2 = a[2];
    dopt__cuda_qrot(a + 3, b, t);
    dopt__cuda_qmul(a + 3, b + 3, c + 3);
    c[0] = a0 + t[0]; c[1] = a1 + t[1]; c[2] = a2 + t[2];
}

/* dopt_cuda_se3_between: c = a⁻¹ · b; Ja (6x6) = -Ad(c⁻¹), Jb = I (optional). */
template <typename T> DOPT_CUDA_HD void dopt_cuda_se3_between(const T *a, const T *b, T *c, T *Ja, T *Jb)
{
    T qc[4] = {-a[3], -a[4], -a[5], a[6]}, dt[3] = {b[0] - a[0], b[1] - a[1], b[2] - a[2]};
    dopt__cuda_qmul(qc, b + 3, c + 3);
    dopt__cuda_qrot(qc, dt, c);
    if (Ja) {
        T ci[7];
        dopt__cuda_se3_inverse(c, ci);
        dopt__cuda_se3_adjoint(ci, Ja);
        for (int i = 0; i < 36; ++i) Ja[i] = -Ja[i];
    }
    if (Jb) dopt__cuda_eye(Jb, 6);
}

/* dopt_cuda_se3_act: y = R p + t; Jg (3x6) = [R, -R [p]x], Jp (3x3) = R (optional). */
template <typename T> DOPT_CUDA_HD void dopt_cuda_se3_act(const T *g, const T *p, T *y, T *Jg, T *Jp)
{
    if (Jg || Jp) {
        T R[9], y0, y1, y2;
        dopt__cuda_quat_to_matrix(g + 3, R);
        y0 = R[0] * p[0] + R[1] * p[1] + R[2] * p[2] + g[0];
        y1 = R[3] * p[0] + R[4] * p[1] + R[5] * p[2] + g[1];
        y2 = R[6] * p[0] + R[7] * p[1] + R[8] * p[2] + g[2];
        if (Jg) { /* row i of -R [p]x is p x r_i */
            for (int i = 0; i < 3; ++i) {
                const T *r = R + 3 * i;
                T *o = Jg + 6 * i;
                o[0] = r[0]; o[1] = r[1]; o[2] = r[2];
                o[3] = p[1] * r[2] - p[2] * r[1];
                o[4] = p[2] * r[0] - p[0] * r[2];
                o[5] = p[0] * r[1] - p[1] * r[0];
            }
        }
        if (Jp)
            for (int i = 0; i < 9; ++i) Jp[i] = R[i];
        y[0] = y0; y[1] = y1; y[2] = y2;
        return;
    }
    T r[3];
    dopt__cuda_qrot(g + 3, p, r);
    y[0] = r[0] + g[0]; y[1] = r[1] + g[1]; y[2] = r[2] + g[2];
}

/* ---- batch operators: element k of a strided batch (the kernels and the host loops share them) --- */

/* Each operator holds the batch arrays and strides; op(k) computes element k.  Jacobian batches are
 * packed blocks of the single-element size (NULL to skip). */
#define DOPT__CUDA_UNARY_OP(NAME, FN, IN, OUT, JS)                                                    \
    template <typename T> struct NAME {                                                               \
        const T *x; ptrdiff_t sx; T *y; ptrdiff_t sy; T *J;                                           \
        DOPT_CUDA_HD void operator()(ptrdiff_t k) const { FN(x + k * sx, y + k * sy, J ? J + (JS) * k : (T *)0); } \
        static DOPT_CUDA_HD int in_size() { return IN; }                                              \
        static DOPT_CUDA_HD int out_size() { return OUT; }                                            \
    };
#define DOPT__CUDA_BINARY_OP(NAME, FN, IN_A, IN_B, OUT, JAS, JBS)                                     \
    template <typename T> struct NAME {                                                               \
        const T *a; ptrdiff_t sa; const T *b; ptrdiff_t sb; T *c; ptrdiff_t sc; T *Ja; T *Jb;         \
        DOPT_CUDA_HD void operator()(ptrdiff_t k) const                                               \
        {                                                                                             \
            FN(a + k * sa, b + k * sb, c + k * sc, Ja ? Ja + (JAS) * k : (T *)0, Jb ? Jb + (JBS) * k : (T *)0); \
        }                                                                                             \
        static DOPT_CUDA_HD int a_size() { return IN_A; }                                             \
        static DOPT_CUDA_HD int b_size() { return IN_B; }                                             \
        static DOPT_CUDA_HD int out_size() { return OUT; }                                            \
    };
DOPT__CUDA_UNARY_OP(dopt_cuda_so3_exp_op, dopt_cuda_so3_exp, 3, 4, 9)
DOPT__CUDA_UNARY_OP(dopt_cuda_so3_log_op, dopt_cuda_so3_log, 4, 3, 9)
DOPT__CUDA_UNARY_OP(dopt_cuda_se3_exp_op, dopt_cuda_se3_exp, 6, 7, 36)
DOPT__CUDA_UNARY_OP(dopt_cuda_se3_log_op, dopt_cuda_se3_log, 7, 6, 36)
DOPT__CUDA_BINARY_OP(dopt_cuda_so3_compose_op, dopt_cuda_so3_compose, 4, 4, 4, 9, 9)
DOPT__CUDA_BINARY_OP(dopt_cuda_so3_act_op, dopt_cuda_so3_act, 4, 3, 3, 9, 9)
DOPT__CUDA_BINARY_OP(dopt_cuda_se3_compose_op, dopt_cuda_se3_compose, 7, 7, 7, 36, 36)
DOPT__CUDA_BINARY_OP(dopt_cuda_se3_between_op, dopt_cuda_se3_between, 7, 7, 7, 36, 36)
DOPT__CUDA_BINARY_OP(dopt_cuda_se3_act_op, dopt_cuda_se3_act, 7, 3, 3, 18, 9)

/* ---- pose-graph normal equations (the least-squares batch path's linearization) ------------------- */

/* dopt_cuda_se3_between_cost: dopt_lie.h's between edge (dopt_lie_cost_between_se3):
 * r = Log(meas⁻¹ · xi⁻¹ · xj) (6 reals), Ji = -Jr⁻¹(r) Ad(c⁻¹) with c = xi⁻¹ xj, Jj = Jr⁻¹(r)
 * (6x6 row-major, right perturbations; NULL to skip). */
template <typename T> DOPT_CUDA_HD void dopt_cuda_se3_between_cost(const T *xi, const T *xj, const T *meas, T *r, T *Ji, T *Jj)
{
    T c[7], e[7], Ja[36], Jl[36];
    dopt_cuda_se3_between(xi, xj, c, Ji ? Ja : (T *)0, (T *)0);
    dopt_cuda_se3_between(meas, c, e, (T *)0, (T *)0);
    dopt_cuda_se3_log(e, r, (Ji || Jj) ? Jl : (T *)0);
    if (Ji)
        for (int a = 0; a < 6; ++a)
            for (int b = 0; b < 6; ++b) {
                T acc = 0;
                for (int k = 0; k < 6; ++k) acc += Jl[6 * a + k] * Ja[6 * k + b];
                Ji[6 * a + b] = acc;
            }
    if (Jj)
        for (int i = 0; i < 36; ++i) Jj[i] = Jl[i];
}

/* r <- L r, Ji <- L Ji, Jj <- L Jj for the 6x6 row-major L. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_graph_whiten(const T *L, T *r, T *Ji, T *Jj)
{
    T t[36], u[36], v[6];
    for (int a = 0; a < 6; ++a) {
        v[a] = 0;
        for (int c = 0; c < 6; ++c) {
            T si = 0, sj = 0;
            for (int q = 0; q < 6; ++q) {
                si += L[6 * a + q] * Ji[6 * q + c];
                sj += L[6 * a + q] * Jj[6 * q + c];
            }
            t[6 * a + c] = si;
            u[6 * a + c] = sj;
            v[a] += L[6 * a + c] * r[c];
        }
    }
    for (int q = 0; q < 36; ++q) {
        Ji[q] = t[q];
        Jj[q] = u[q];
    }
    for (int a = 0; a < 6; ++a) r[a] = v[a];
}

/* Add v to *p: an atomic add on the GPU (blocks of different edges meet at a pose), plain on the host. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_accumulate(T *p, T v)
{
#ifdef __CUDA_ARCH__
    atomicAdd(p, v);
#else
    *p += v;
#endif
}

/* One edge of one element of a batch of SE3 pose graphs with one structure: the whitened residual
 * rw = L r and Jacobians L Ji, L Jj (L: the edge's 6x6 row-major square-root information, NULL:
 * identity), added into the element's block normal equations and cost:
 *   H[slot_ii] += JiᵀJi,  H[slot_jj] += JjᵀJj,  H[slot_ij] += JiᵀJj,  g_i += Jiᵀrw,  g_j += Jjᵀrw,
 *   cost += 1/2 |rw|².
 * Blocks are 6x6 row-major, 36 reals each, at H + b*sH + 36*slot.  slot NULL: the default layout,
 * (i, i) -> i, (j, j) -> j, (i, j) -> n_poses + e (one off-diagonal block per edge). */
template <typename T> struct dopt_cuda_se3_graph_normal_op {
    ptrdiff_t n_poses, n_edges;
    const int *ij;       /* 2 per edge: the pose indices i, j                          */
    const int *slot;     /* 3 per edge: the blocks of (i,i), (j,j), (i,j), or NULL     */
    const T *poses;      /* element b's poses at poses + b*sp, 7 reals each            */
    ptrdiff_t sp;
    const T *meas;       /* element b's measurements at meas + b*sm, 7 per edge (0: shared) */
    ptrdiff_t sm;
    const T *sqrt_info;  /* 36 per edge at sqrt_info + b*si, or NULL                   */
    ptrdiff_t si;
    T *H;                /* element b's blocks at H + b*sH                              */
    ptrdiff_t sH;
    T *g;                /* element b's gradient at g + b*sg, 6 per pose                */
    ptrdiff_t sg;
    T *cost;             /* one per element, or NULL                                     */
    DOPT_CUDA_HD void operator()(ptrdiff_t k) const
    {
        const ptrdiff_t b = k / n_edges, e = k % n_edges;
        const int i = ij[2 * e], j = ij[2 * e + 1];
        const T *P = poses + b * sp;
        T r[6], Ji[36], Jj[36];
        dopt_cuda_se3_between_cost(P + 7 * (ptrdiff_t)i, P + 7 * (ptrdiff_t)j, meas + b * sm + 7 * e, r, Ji, Jj);
        if (sqrt_info) dopt__cuda_graph_whiten(sqrt_info + b * si + 36 * e, r, Ji, Jj);
        const ptrdiff_t sii = slot ? slot[3 * e] : i, sjj = slot ? slot[3 * e + 1] : j,
                        sij = slot ? slot[3 * e + 2] : n_poses + e;
        T *Hb = H + b * sH, *gb = g + b * sg;
        for (int a = 0; a < 6; ++a)
            for (int c = 0; c < 6; ++c) {
                T hii = 0, hjj = 0, hij = 0;
                for (int q = 0; q < 6; ++q) {
                    hii += Ji[6 * q + a] * Ji[6 * q + c];
                    hjj += Jj[6 * q + a] * Jj[6 * q + c];
                    hij += Ji[6 * q + a] * Jj[6 * q + c];
                }
                dopt__cuda_accumulate(Hb + 36 * sii + 6 * a + c, hii);
                dopt__cuda_accumulate(Hb + 36 * sjj + 6 * a + c, hjj);
                dopt__cuda_accumulate(Hb + 36 * sij + 6 * a + c, hij);
            }
        T half = 0;
        for (int a = 0; a < 6; ++a) {
            T gi = 0, gj = 0;
            for (int q = 0; q < 6; ++q) {
                gi += Ji[6 * q + a] * r[q];
                gj += Jj[6 * q + a] * r[q];
            }
            dopt__cuda_accumulate(gb + 6 * (ptrdiff_t)i + a, gi);
            dopt__cuda_accumulate(gb + 6 * (ptrdiff_t)j + a, gj);
            half += r[a] * r[a];
        }
        if (cost) dopt__cuda_accumulate(cost + b, (T)0.5 * half);
    }
};

/* One entry of the dense Gauss-Newton matrix of a pose graph: entry k of the grid is block entry
 * (a, c) of block s of element b (the default layout of dopt_cuda_se3_graph_normal_op: diagonal
 * blocks of the n_poses poses, then one block per edge), added into the column-major dense
 * A (n = 6 n_poses, at A + b*sA) with its transpose for an edge block, and lambda on the diagonal
 * (Levenberg damping; added once per diagonal entry). */
template <typename T> struct dopt_cuda_se3_graph_dense_op {
    ptrdiff_t n_poses, n_edges;
    const int *ij;
    const T *H;
    ptrdiff_t sH;
    T lambda;
    T *A;
    ptrdiff_t sA;
    DOPT_CUDA_HD void operator()(ptrdiff_t k) const
    {
        const ptrdiff_t nb = n_poses + n_edges, n = 6 * n_poses, b = k / (36 * nb), s = k / 36 % nb;
        const int a = (int)(k % 36) / 6, c = (int)(k % 6);
        const T v = H[b * sH + 36 * s + 6 * a + c];
        T *Ab = A + b * sA;
        if (s < n_poses) {
            const ptrdiff_t u = 6 * s + a, w = 6 * s + c;
            dopt__cuda_accumulate(Ab + u + w * n, a == c ? v + lambda : v);
        } else {
            const ptrdiff_t e = s - n_poses, u = 6 * (ptrdiff_t)ij[2 * e] + a, w = 6 * (ptrdiff_t)ij[2 * e + 1] + c;
            dopt__cuda_accumulate(Ab + u + w * n, v);
            dopt__cuda_accumulate(Ab + w + u * n, v);
        }
    }
};

/* dopt_cuda_se3_retract: x <- x · Exp(delta) (right perturbation, the retraction of dopt_lie.h's
 * SE3 manifold), for one pose; delta (6) = [v; w]. */
template <typename T> DOPT_CUDA_HD void dopt_cuda_se3_retract(T *x, const T *delta)
{
    T d[7], y[7];
    dopt_cuda_se3_exp(delta, d, (T *)0);
    dopt_cuda_se3_compose(x, d, y, (T *)0, (T *)0);
    const T q = dopt__cuda_sqrt(y[3] * y[3] + y[4] * y[4] + y[5] * y[5] + y[6] * y[6]);
    for (int i = 0; i < 3; ++i) x[i] = y[i];
    for (int i = 3; i < 7; ++i) x[i] = y[i] / q; /* and normalized: the manifold's project */
}
template <typename T> struct dopt_cuda_se3_retract_op {
    T *x;
    ptrdiff_t sx;
    const T *delta;
    ptrdiff_t sd;
    DOPT_CUDA_HD void operator()(ptrdiff_t k) const { dopt_cuda_se3_retract(x + k * sx, delta + k * sd); }
};

/* dopt_cuda_host_each: run op(k) for k = 0 .. n-1 on the host (the reference the GPU kernels are
 * compared with, and the CPU path of tests without a GPU). */
template <typename Op> inline void dopt_cuda_host_each(ptrdiff_t n, const Op &op)
{
    for (ptrdiff_t k = 0; k < n; ++k) op(k);
}

/* ---- small dense: Cholesky of one column-major n x n matrix, and its solve ------------------------ */

/* dopt_cuda_potrf_one: A = L Lᵀ in place (lower triangle, column-major, leading dimension lda),
 * right-looking, the operation order of dopt.h's unblocked potrf.  Returns -1 on success, else
 * the first failing column j (pivot <= 0, or NaN/Inf when *nonfinite is set). */
template <typename T> DOPT_CUDA_HD int dopt_cuda_potrf_one(int n, T *A, int lda, bool *nonfinite)
{
    *nonfinite = false;
    for (int j = 0; j < n; ++j) {
        T *cj = A + (ptrdiff_t)j * lda, d = cj[j];
        if (!(d > 0) || !dopt__cuda_finite(d)) {
            *nonfinite = !dopt__cuda_finite(d);
            return j;
        }
        d = dopt__cuda_sqrt(d);
        cj[j] = d;
        for (int i = j + 1; i < n; ++i) cj[i] /= d;
        for (int q = j + 1; q < n; ++q) {
            T *cq = A + (ptrdiff_t)q * lda, f = cj[q];
            for (int i = q; i < n; ++i) cq[i] -= cj[i] * f;
        }
    }
    return -1;
}

/* dopt_cuda_potrs_one: B <- (L Lᵀ)⁻¹ B for the n x nrhs column-major B (leading dimension ldb). */
template <typename T> DOPT_CUDA_HD void dopt_cuda_potrs_one(int n, int nrhs, const T *L, int ldl, T *B, int ldb)
{
    for (int r = 0; r < nrhs; ++r) {
        T *b = B + (ptrdiff_t)r * ldb;
        for (int k = 0; k < n; ++k) { /* L y = b */
            b[k] /= L[k + (ptrdiff_t)k * ldl];
            for (int i = k + 1; i < n; ++i) b[i] -= L[i + (ptrdiff_t)k * ldl] * b[k];
        }
        for (int k = n - 1; k >= 0; --k) { /* Lᵀ x = y */
            b[k] /= L[k + (ptrdiff_t)k * ldl];
            for (int i = 0; i < k; ++i) b[i] -= L[k + (ptrdiff_t)i * ldl] * b[k];
        }
    }
}

/* ---- Anderson mixing step ------------------------------------------------------------------------ */

/* Options of the Anderson step (zero = defaults).
 *   lambda  Tikhonov regularization RELATIVE to the mean diagonal of FᵀF (default 1e-10 in double,
 *           1e-5 in float; DOPT_OFF: none)
 *   beta    mixing (damping) parameter, in (0, 1] (default 1: x_new = Σ α_i g_i) */
typedef struct dopt_cuda_anderson_options {
    double lambda;
    double beta;
} dopt_cuda_anderson_options;

/* Largest history the batched Anderson step takes. */
#define DOPT_CUDA_ANDERSON_MAX_M 16

/* Resolve the options for precision T: returns false for out-of-range values. */
template <typename T>
DOPT_CUDA_HD bool dopt__cuda_anderson_resolve(const dopt_cuda_anderson_options *o, T *lambda, T *beta)
{
    double lam = o ? o->lambda : 0, be = o ? o->beta : 0;
    if (lam == 0) lam = sizeof(T) == sizeof(float) ? 1e-5 : 1e-10;
    else if (lam == DOPT_OFF) lam = 0;
    else if (!(lam > 0) || !dopt__cuda_finite(lam)) return false;
    if (be == 0) be = 1;
    if (!(be > 0 && be <= 1)) return false;
    *lambda = (T)lam;
    *beta = (T)be;
    return true;
}

/* Solve the Anderson weights from the Gram matrix H = FᵀF (m x m column-major, lower triangle used,
 * overwritten):  α = (H + λ̄ I)⁻¹ 1 / (1ᵀ (H + λ̄ I)⁻¹ 1),  λ̄ = lambda · tr(H)/m.  Returns DOPT_OK,
 * DOPT_ERR_NOT_POSITIVE_DEFINITE (H + λ̄ I singular: lambda off and the residual history rank
 * deficient), DOPT_ERR_NON_FINITE. */
template <typename T> DOPT_CUDA_HD dopt_status dopt__cuda_anderson_weights(int m, T *H, T lambda, T *alpha)
{
    T tr = 0, s = 0;
    bool nonfinite;
    for (int i = 0; i < m; ++i) tr += H[i + i * m];
    if (!dopt__cuda_finite(tr)) return DOPT_ERR_NON_FINITE;
    for (int i = 0; i < m; ++i) H[i + i * m] += lambda * tr / T(m);
    if (dopt_cuda_potrf_one(m, H, m, &nonfinite) >= 0)
        return nonfinite ? DOPT_ERR_NON_FINITE : DOPT_ERR_NOT_POSITIVE_DEFINITE;
    for (int i = 0; i < m; ++i) alpha[i] = 1;
    dopt_cuda_potrs_one(m, 1, H, m, alpha, m);
    for (int i = 0; i < m; ++i) s += alpha[i];
    if (!(s != 0) || !dopt__cuda_finite(s)) return DOPT_ERR_NON_FINITE;
    for (int i = 0; i < m; ++i) alpha[i] /= s;
    return DOPT_OK;
}

/* dopt_cuda_anderson_one: one Anderson (type II) step for one problem, serially (the host
 * reference of the batched kernel).  X, G: d x m column-major (leading dimensions ldx, ldg), the
 * last m iterates x_i and their images g(x_i); residuals f_i = g_i - x_i.  Writes
 *     x_new = Σ α_i (β g_i + (1 - β) x_i),  α = argmin |F α|² + λ̄|α|²  subject to Σ α_i = 1
 * to x_new (d reals).  work: m*m + m reals.  Statuses as dopt__cuda_anderson_weights, plus
 * DOPT_ERR_NON_FINITE for a non-finite x_new. */
template <typename T>
DOPT_CUDA_HD dopt_status dopt_cuda_anderson_one(int d, int m, const T *X, int ldx, const T *G, int ldg, T lambda,
                                                T beta, T *x_new, T *work)
{
    T *H = work, *alpha = work + m * m;
    for (int j = 0; j < m; ++j)
        for (int i = j; i < m; ++i) {
            T s = 0;
            for (int t = 0; t < d; ++t)
                s += (G[t + (ptrdiff_t)i * ldg] - X[t + (ptrdiff_t)i * ldx]) *
                     (G[t + (ptrdiff_t)j * ldg] - X[t + (ptrdiff_t)j * ldx]);
            H[i + j * m] = s;
        }
    dopt_status st = dopt__cuda_anderson_weights(m, H, lambda, alpha);
    if (st != DOPT_OK) return st;
    bool finite = true;
    for (int t = 0; t < d; ++t) {
        T s = 0;
        for (int i = 0; i < m; ++i)
            s += alpha[i] * (beta * G[t + (ptrdiff_t)i * ldg] + (T(1) - beta) * X[t + (ptrdiff_t)i * ldx]);
        x_new[t] = s;
        finite = finite && dopt__cuda_finite(s);
    }
    return finite ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

/* ---- CEM: sampling, elite selection and update --------------------------------------------------- */

/* Counter-based random numbers: the same stream on the host and on any GPU, whatever the launch
 * shape (sample i of a batch depends only on (seed, iteration, i)).  SplitMix64's finalizer. */
DOPT_CUDA_HD unsigned long long dopt__cuda_mix64(unsigned long long z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* dopt_cuda_normal: the standard normal number `index` of stream (seed, iteration),
 * by Box-Muller from two 53-bit uniforms (the first in (0, 1]), in double. */
DOPT_CUDA_HD double dopt_cuda_normal(unsigned long long seed, unsigned long long iteration, unsigned long long index)
{
    unsigned long long h = dopt__cuda_mix64(seed + 0x9E3779B97F4A7C15ull * (iteration + 1));
    unsigned long long a = dopt__cuda_mix64(h ^ dopt__cuda_mix64(2 * index + 1));
    unsigned long long b = dopt__cuda_mix64(h ^ dopt__cuda_mix64(2 * index + 2));
    double u = ((double)(a >> 11) + 1.0) * (1.0 / 9007199254740992.0); /* (0, 1] */
    double v = (double)(b >> 11) * (1.0 / 9007199254740992.0);          /* [0, 1) */
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* Largest number of samples per problem of the batched CEM update (one block ranks them). */
#define DOPT_CUDA_CEM_MAX_SAMPLES 1024

/* Options of the CEM update (zero = defaults).
 *   alpha    weight of the new elite statistics: mean' = alpha mean_elite + (1 - alpha) mean
 *            (likewise std); in (0, 1], default 1 (no smoothing)
 *   min_std  floor of every updated std entry, >= 0 (default 0; DOPT_OFF: 0 too) */
typedef struct dopt_cuda_cem_options {
    double alpha;
    double min_std;
} dopt_cuda_cem_options;

template <typename T>
DOPT_CUDA_HD bool dopt__cuda_cem_resolve(const dopt_cuda_cem_options *o, T *alpha, T *min_std)
{
    double a = o ? o->alpha : 0, s = o ? o->min_std : 0;
    if (a == 0) a = 1;
    if (s == DOPT_OFF) s = 0;
    if (!(a > 0 && a <= 1) || !(s >= 0) || !dopt__cuda_finite(s)) return false;
    *alpha = (T)a;
    *min_std = (T)s;
    return true;
}

/* dopt_cuda_cem_sample_one: samples k = 0 .. K-1 of problem b, X[k d + i] = mean[i] + std[i] z,
 * z = dopt_cuda_normal(seed, iteration, (b K + k) d + i).  X: d x K column-major (ld = d). */
template <typename T>
DOPT_CUDA_HD void dopt_cuda_cem_sample_one(int d, int K, const T *mean, const T *std_, unsigned long long seed,
                                           unsigned long long iteration, long long b, T *X)
{
    for (int k = 0; k < K; ++k)
        for (int i = 0; i < d; ++i) {
            unsigned long long idx = ((unsigned long long)b * (unsigned long long)K + (unsigned long long)k) * (unsigned long long)d + (unsigned long long)i;
            X[(ptrdiff_t)k * d + i] = mean[i] + std_[i] * (T)dopt_cuda_normal(seed, iteration, idx);
        }
}

/* Cost order of the elite selection: ascending, NaN after everything, ties by sample index. */
template <typename T> DOPT_CUDA_HD bool dopt__cuda_cem_before(T cj, int j, T ck, int k)
{
    bool nj = cj != cj, nk = ck != ck;
    if (nj || nk) return !nj && nk ? true : nj && nk ? j < k : false;
    return cj < ck || (cj == ck && j < k);
}

/* dopt_cuda_cem_rank: the position of sample k in that order (0 = cheapest). */
template <typename T> DOPT_CUDA_HD int dopt_cuda_cem_rank(int K, const T *cost, int k)
{
    int r = 0;
    for (int j = 0; j < K; ++j) r += dopt__cuda_cem_before(cost[j], j, cost[k], k) ? 1 : 0;
    return r;
}

/* Mean and std of the elites (sample indices elite[0 .. E), cheapest first) along coordinate i,
 * blended into mean[i], std[i] with alpha, std floored at min_std.  Summation in elite order. */
template <typename T>
DOPT_CUDA_HD bool dopt__cuda_cem_update_coord(int d, int E, const T *X, const int *elite, T alpha, T min_std, int i,
                                              T *mean, T *std_)
{
    T m = 0, v = 0;
    for (int e = 0; e < E; ++e) m += X[(ptrdiff_t)elite[e] * d + i];
    m /= T(E);
    for (int e = 0; e < E; ++e) {
        T r = X[(ptrdiff_t)elite[e] * d + i] - m;
        v += r * r;
    }
    T s = dopt__cuda_sqrt(v / T(E));
    T sn = alpha * s + (T(1) - alpha) * std_[i], mn = alpha * m + (T(1) - alpha) * mean[i];
    mean[i] = mn;
    std_[i] = sn > min_std ? sn : min_std;
    return dopt__cuda_finite(mn) && dopt__cuda_finite(sn);
}

/* dopt_cuda_cem_update_one: the CEM update of one problem (the host reference of the batched
 * kernel).  X: the K samples (d x K, ld = d), cost: their K costs; the E cheapest (ties by index)
 * are the elites; mean and std (d each) are updated in place.  elite: work of K ints.  Returns
 * DOPT_OK; DOPT_ERR_NON_FINITE when an elite's cost is not finite (fewer than E finite costs;
 * mean and std unchanged) or an updated entry is not (non-finite samples). */
template <typename T>
DOPT_CUDA_HD dopt_status dopt_cuda_cem_update_one(int d, int K, int E, const T *X, const T *cost, T alpha, T min_std,
                                                  T *mean, T *std_, int *elite)
{
    for (int k = 0; k < K; ++k) {
        int r = dopt_cuda_cem_rank(K, cost, k);
        if (r < E) {
            if (!dopt__cuda_finite(cost[k])) return DOPT_ERR_NON_FINITE;
            elite[r] = k;
        }
    }
    bool finite = true;
    for (int i = 0; i < d; ++i) finite = dopt__cuda_cem_update_coord(d, E, X, elite, alpha, min_std, i, mean, std_) && finite;
    return finite ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

/* ---- block algorithms, phase by phase -------------------------------------------------------------
 * The block-per-problem kernels are sequences of phases separated by __syncthreads().  Each phase is
 * a function of the thread index tid among nt threads, written here once: the kernels call them,
 * and dopt_cuda_emulate_* run a block on the host in lockstep (each phase for every tid, in forward
 * or reverse thread order), so that the tests check the kernels' parallel index arithmetic, and
 * that no phase depends on the order of its threads, without a GPU. */

/* Run f(tid) for tid = 0 .. nt-1 (reverse: nt-1 .. 0): one phase of an emulated block. */
template <typename F> inline void dopt__cuda_lockstep(int nt, bool reverse, F f)
{
    for (int t = 0; t < nt; ++t) f(reverse ? nt - 1 - t : t);
}

/* Cholesky / solve: the lower triangle of the n x n matrix, packed with leading dimension n in S. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_tri_load(int tid, int nt, int n, const T *A, int lda, T *S)
{
    for (int e = tid; e < n * n; e += nt) {
        int i = e % n, j = e / n;
        if (i >= j) S[e] = A[i + (ptrdiff_t)j * lda];
    }
}
template <typename T> DOPT_CUDA_HD void dopt__cuda_tri_store(int tid, int nt, int n, const T *S, T *A, int lda)
{
    for (int e = tid; e < n * n; e += nt) {
        int i = e % n, j = e / n;
        if (i >= j) A[i + (ptrdiff_t)j * lda] = S[e];
    }
}
/* Column j of the factor: the pivot d = sqrt(S[j, j]) in place, the entries below divided by it. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_potrf_scale(int tid, int nt, int n, int j, T d, T *S)
{
    if (tid == 0) S[j + j * n] = d;
    for (int i = j + 1 + tid; i < n; i += nt) S[i + j * n] /= d;
}
/* Trailing update of the lower triangle: S[i, q] -= S[i, j] S[q, j] for j < q <= i. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_potrf_update(int tid, int nt, int n, int j, T *S)
{
    const int r = n - j - 1;
    for (int e = tid; e < r * r; e += nt) {
        int i = j + 1 + e % r, q = j + 1 + e / r;
        if (i >= q) S[i + q * n] -= S[i + j * n] * S[q + j * n];
    }
}

/* dopt_cuda_emulate_potrf: the potrf kernel's block on the host (nt threads in lockstep), A in
 * place; S: n*n work.  Returns the failing column or -1, as dopt_cuda_potrf_one. */
template <typename T> int dopt_cuda_emulate_potrf(int n, T *A, int lda, int nt, bool reverse, bool *nonfinite, T *S)
{
    int fail = -1;
    *nonfinite = false;
    dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_tri_load(t, nt, n, A, lda, S); });
    for (int j = 0; j < n; ++j) {
        T d = S[j + j * n];
        if (!(d > 0) || !dopt__cuda_finite(d)) {
            fail = j;
            *nonfinite = !dopt__cuda_finite(d);
            break;
        }
        d = dopt__cuda_sqrt(d);
        dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_potrf_scale(t, nt, n, j, d, S); });
        dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_potrf_update(t, nt, n, j, S); });
    }
    dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_tri_store(t, nt, n, S, A, lda); });
    return fail;
}

/* Solve phases: B[k, r] /= L[k, k] for every column r; then the forward (below k) or backward
 * (above k) elimination of the solved row k. */
template <typename T> DOPT_CUDA_HD void dopt__cuda_potrs_div(int tid, int nt, int n, int nrhs, int k, const T *S, T *B, int ldb)
{
    for (int r = tid; r < nrhs; r += nt) B[k + (ptrdiff_t)r * ldb] /= S[k + k * n];
}
template <typename T> DOPT_CUDA_HD void dopt__cuda_potrs_fwd(int tid, int nt, int n, int nrhs, int k, const T *S, T *B, int ldb)
{
    const int rows = n - k - 1;
    for (int e = tid; e < rows * nrhs; e += nt) {
        int i = k + 1 + e % rows, r = e / rows;
        B[i + (ptrdiff_t)r * ldb] -= S[i + k * n] * B[k + (ptrdiff_t)r * ldb];
    }
}
template <typename T> DOPT_CUDA_HD void dopt__cuda_potrs_bwd(int tid, int nt, int n, int nrhs, int k, const T *S, T *B, int ldb)
{
    for (int e = tid; e < k * nrhs; e += nt) {
        int i = e % k, r = e / k;
        B[i + (ptrdiff_t)r * ldb] -= S[k + i * n] * B[k + (ptrdiff_t)r * ldb];
    }
}

/* dopt_cuda_emulate_potrs: the potrs kernel's block on the host.  S: n*n work. */
template <typename T>
void dopt_cuda_emulate_potrs(int n, int nrhs, const T *L, int ldl, T *B, int ldb, int nt, bool reverse, T *S)
{
    dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_tri_load(t, nt, n, L, ldl, S); });
    for (int k = 0; k < n; ++k) {
        dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_potrs_div(t, nt, n, nrhs, k, S, B, ldb); });
        dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_potrs_fwd(t, nt, n, nrhs, k, S, B, ldb); });
    }
    for (int k = n - 1; k >= 0; --k) {
        dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_potrs_div(t, nt, n, nrhs, k, S, B, ldb); });
        dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_potrs_bwd(t, nt, n, nrhs, k, S, B, ldb); });
    }
}

/* Anderson phases.  Rows t0 .. t0+rows of F = G - X into the tile F (ld DOPT__CUDA_ANDERSON_ROWS);
 * thread p < m*m accumulates H[i, j] (i = p % m >= j = p / m) over the tile; the output x_new. */
#define DOPT__CUDA_ANDERSON_ROWS 64
template <typename T>
DOPT_CUDA_HD void dopt__cuda_anderson_tile(int tid, int nt, int rows, int m, int t0, const T *X, int ldx, const T *G,
                                           int ldg, T *F)
{
    for (int e = tid; e < rows * m; e += nt) {
        int t = e % rows, i = e / rows;
        F[t + i * DOPT__CUDA_ANDERSON_ROWS] = G[t0 + t + (ptrdiff_t)i * ldg] - X[t0 + t + (ptrdiff_t)i * ldx];
    }
}
template <typename T> DOPT_CUDA_HD T dopt__cuda_anderson_accumulate(int tid, int rows, int m, const T *F, T acc)
{
    if (tid < m * m) {
        int i = tid % m, j = tid / m;
        if (i >= j)
            for (int t = 0; t < rows; ++t) acc += F[t + i * DOPT__CUDA_ANDERSON_ROWS] * F[t + j * DOPT__CUDA_ANDERSON_ROWS];
    }
    return acc;
}
template <typename T>
DOPT_CUDA_HD bool dopt__cuda_anderson_output(int tid, int nt, int d, int m, const T *alpha, T beta, const T *X, int ldx,
                                             const T *G, int ldg, T *x_new)
{
    bool finite = true;
    for (int t = tid; t < d; t += nt) {
        T s = 0;
        for (int i = 0; i < m; ++i)
            s += alpha[i] * (beta * G[t + (ptrdiff_t)i * ldg] + (T(1) - beta) * X[t + (ptrdiff_t)i * ldx]);
        x_new[t] = s;
        finite = finite && dopt__cuda_finite(s);
    }
    return finite;
}

/* dopt_cuda_emulate_anderson: the Anderson kernel's block on the host (nt >= m*m threads).
 * work: DOPT__CUDA_ANDERSON_ROWS*m + m*m + m reals and nt reals of accumulators. */
template <typename T>
dopt_status dopt_cuda_emulate_anderson(int d, int m, const T *X, int ldx, const T *G, int ldg, T lambda, T beta, T *x_new,
                                       int nt, bool reverse, T *work)
{
    T *F = work, *H = F + DOPT__CUDA_ANDERSON_ROWS * m, *alpha = H + m * m, *acc = alpha + m;
    for (int t = 0; t < nt; ++t) acc[t] = 0;
    for (int t0 = 0; t0 < d; t0 += DOPT__CUDA_ANDERSON_ROWS) {
        const int rows = d - t0 < DOPT__CUDA_ANDERSON_ROWS ? d - t0 : DOPT__CUDA_ANDERSON_ROWS;
        dopt__cuda_lockstep(nt, reverse, [&](int t) { dopt__cuda_anderson_tile(t, nt, rows, m, t0, X, ldx, G, ldg, F); });
        dopt__cuda_lockstep(nt, reverse, [&](int t) { acc[t] = dopt__cuda_anderson_accumulate(t, rows, m, F, acc[t]); });
    }
    dopt__cuda_lockstep(nt, reverse, [&](int t) { if (t < m * m) H[t] = acc[t]; });
    dopt_status st = dopt__cuda_anderson_weights(m, H, lambda, alpha);
    if (st != DOPT_OK) return st;
    bool finite = true;
    dopt__cuda_lockstep(nt, reverse, [&](int t) {
        finite = dopt__cuda_anderson_output(t, nt, d, m, alpha, beta, X, ldx, G, ldg, x_new) && finite;
    });
    return finite ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

/* CEM phases: entry e of the batch's samples (e = (b K + k) d + i); the ranks (elite[rank] = k for
 * the E cheapest; false when an elite's cost is not finite); the update of coordinates tid, tid+nt... */
template <typename T>
DOPT_CUDA_HD void dopt__cuda_cem_sample_entry(ptrdiff_t e, int d, int K, const T *mean, ptrdiff_t strideM, const T *std_,
                                              ptrdiff_t strideS, unsigned long long seed, unsigned long long iteration,
                                              T *X, ptrdiff_t strideX)
{
    const ptrdiff_t per = (ptrdiff_t)d * K, b = e / per, r = e % per;
    const int i = (int)(r % d);
    X[b * strideX + r] = mean[b * strideM + i] + std_[b * strideS + i] * (T)dopt_cuda_normal(seed, iteration, (unsigned long long)e);
}
template <typename T> DOPT_CUDA_HD bool dopt__cuda_cem_rank_phase(int tid, int nt, int K, int E, const T *cost, int *elite)
{
    bool ok = true;
    for (int k = tid; k < K; k += nt) {
        int r = dopt_cuda_cem_rank(K, cost, k);
        if (r < E) {
            elite[r] = k;
            ok = ok && dopt__cuda_finite(cost[k]);
        }
    }
    return ok;
}
template <typename T>
DOPT_CUDA_HD bool dopt__cuda_cem_update_phase(int tid, int nt, int d, int E, const T *X, const int *elite, T alpha,
                                              T min_std, T *mean, T *std_)
{
    bool finite = true;
    for (int i = tid; i < d; i += nt)
        finite = dopt__cuda_cem_update_coord(d, E, X, elite, alpha, min_std, i, mean, std_) && finite;
    return finite;
}

/* dopt_cuda_emulate_cem_update: the CEM update kernel's block on the host (elite: K ints). */
template <typename T>
dopt_status dopt_cuda_emulate_cem_update(int d, int K, int E, const T *X, const T *cost, T alpha, T min_std, T *mean,
                                         T *std_, int nt, bool reverse, int *elite)
{
    bool ok = true, finite = true;
    dopt__cuda_lockstep(nt, reverse, [&](int t) { ok = dopt__cuda_cem_rank_phase(t, nt, K, E, cost, elite) && ok; });
    if (!ok) return DOPT_ERR_NON_FINITE;
    dopt__cuda_lockstep(nt, reverse, [&](int t) {
        finite = dopt__cuda_cem_update_phase(t, nt, d, E, X, elite, alpha, min_std, mean, std_) && finite;
    });
    return finite ? DOPT_OK : DOPT_ERR_NON_FINITE;
}

/* ---- batched LQR, one block per problem -------------------------------------------------------------
 * The problem and its layout are dopt_mpc.h's (see its overview, "LQR AND iLQR"), without control
 * bounds:  minimize  sum_{t<T} 1/2 tau_tᵀ C_t tau_t + c_tᵀ tau_t,  tau_t = [x_t; u_t] (N = n + m),
 *          s.t.      x_{t+1} = F_t tau_t + f_t (t < T-1),  x_0 = x_init.
 * Block t of element b of a sequence starts at p + b*bs + t*ts (strides in reals, 0 shares the block);
 * C_t N x N and F_t = [A_t B_t] n x N column-major.  The forward is the Riccati sweep of dopt_mpc.h
 * (Q_t = C_t + F_tᵀ V_{t+1} F_t, K_t = -Q_uu⁻¹ Q_ux, k_t = -Q_uu⁻¹ q_u, V_t = Q_xx + Q_xu K_t,
 * v_t = q_x + K_tᵀ q_u) and the rollout; the multipliers come from the stationarity of x_t:
 * lam_t = (C_t tau_t + c_t + F_tᵀ lam_{t+1})_x.  The backward is the adjoint LQR of Amos et al. 2018:
 * the same gains and Q_uu factors with linear term dL/dtau, f = 0 and x_init = 0 give (d_tau, d_lam),
 * and dL/dC_t = sym(d_tau_t tau_tᵀ), dL/dc_t = d_tau_t, dL/dF_t = d_lam_{t+1} tau_tᵀ + lam_{t+1} d_tau_tᵀ,
 * dL/df_t = d_lam_{t+1}, dL/dx_init = d_lam_0.  Written once as phases (dopt__cuda_lqr_*) driven by
 * an executor: the kernel's (a phase per thread, then __syncthreads) or the host's lockstep one. */

/* Largest n + m of the batched LQR (the block's matrices live in shared memory). */
#define DOPT_CUDA_LQR_MAX_N 32

template <typename T> struct dopt_cuda_cseq {
    const T *p;
    ptrdiff_t ts, bs;
};
template <typename T> struct dopt_cuda_seq {
    T *p;
    ptrdiff_t ts, bs;
};
/* The data of a batch of LQR problems (dopt_mpc_lqr_data without bounds).  f.p NULL: zero. */
template <typename T> struct dopt_cuda_lqr_data {
    dopt_cuda_cseq<T> C, c, F, f, x_init;
};
/* Gradients, the data's shapes; p NULL: not wanted.  Per element (bs > 0, blocks not overlapping);
 * ts = 0 sums the steps' contributions into one block. */
template <typename T> struct dopt_cuda_lqr_grad {
    dopt_cuda_seq<T> C, c, F, f, x_init;
};
typedef dopt_cuda_cseq<float> dopt_cuda_cseq_f;
typedef dopt_cuda_cseq<double> dopt_cuda_cseq_d;
typedef dopt_cuda_seq<float> dopt_cuda_seq_f;
typedef dopt_cuda_seq<double> dopt_cuda_seq_d;
typedef dopt_cuda_lqr_data<float> dopt_cuda_lqr_data_f;
typedef dopt_cuda_lqr_data<double> dopt_cuda_lqr_data_d;
typedef dopt_cuda_lqr_grad<float> dopt_cuda_lqr_grad_f;
typedef dopt_cuda_lqr_grad<double> dopt_cuda_lqr_grad_d;

template <typename T> DOPT_CUDA_HD const T *dopt__cuda_at(dopt_cuda_cseq<T> s, ptrdiff_t b, int t)
{
    return s.p + b * s.bs + (ptrdiff_t)t * s.ts;
}
template <typename T> DOPT_CUDA_HD T *dopt__cuda_at(dopt_cuda_seq<T> s, ptrdiff_t b, int t)
{
    return s.p + b * s.bs + (ptrdiff_t)t * s.ts;
}
template <typename T> DOPT_CUDA_HD dopt_cuda_cseq<T> dopt__cuda_const(dopt_cuda_seq<T> s)
{
    dopt_cuda_cseq<T> c = {s.p, s.ts, s.bs};
    return c;
}

/* Per-element workspace in reals: the gains K_t (m x n) and k_t (m), the Q_uu factors L_t (m x m)
 * of every step, then the adjoint solution d_tau (T x N) and d_lam (T x n). */
DOPT_CUDA_HD ptrdiff_t dopt_cuda_lqr_element_reals(int n, int m, int T)
{
    return (ptrdiff_t)T * ((ptrdiff_t)m * n + m + (ptrdiff_t)m * m + (n + m) + n);
}
template <typename T> struct dopt__cuda_lqr_elem {
    T *K, *k, *L, *dtau, *dlam;
};
template <typename T> DOPT_CUDA_HD dopt__cuda_lqr_elem<T> dopt__cuda_lqr_elem_of(T *w, int n, int m, int T_)
{
    dopt__cuda_lqr_elem<T> e;
    e.K = w;
    e.k = e.K + (ptrdiff_t)T_ * m * n;
    e.L = e.k + (ptrdiff_t)T_ * m;
    e.dtau = e.L + (ptrdiff_t)T_ * m * m;
    e.dlam = e.dtau + (ptrdiff_t)T_ * (n + m);
    return e;
}

/* Shared memory of one block in reals: V (n x n), v, W = V F (n x N), w, Q (N x N), q, the Q_uu
 * factor (m x m), the right-hand sides [K k] (m x (n+1)), the state/step x (N), x_next (n), a flag. */
DOPT_CUDA_HD int dopt_cuda_lqr_shared_reals(int n, int m)
{
    const int N = n + m;
    return n * n + n + n * N + n + N * N + N + m * m + m * (n + 1) + N + n + 1;
}
template <typename T> struct dopt__cuda_lqr_smem {
    T *V, *v, *W, *w, *Q, *q, *L, *R, *x, *xn, *flag;
};
template <typename T> DOPT_CUDA_HD dopt__cuda_lqr_smem<T> dopt__cuda_lqr_smem_of(T *S, int n, int m)
{
    const int N = n + m;
    dopt__cuda_lqr_smem<T> s;
    s.V = S;
    s.v = s.V + n * n;
    s.W = s.v + n;
    s.w = s.W + n * N;
    s.Q = s.w + n;
    s.q = s.Q + N * N;
    s.L = s.q + N;
    s.R = s.L + m * m;
    s.x = s.R + m * (n + 1);
    s.xn = s.x + N;
    s.flag = s.xn + n;
    return s;
}

/* Executors: phase(f) runs f(tid) for every thread of the block, then waits for all; barrier()
 * only waits (after every thread has read a shared value it is about to change). */
struct dopt__cuda_host_exec {
    int nt;
    bool reverse;
    template <typename F> DOPT_CUDA_HD void phase(F f)
    {
        for (int t = 0; t < nt; ++t) f(reverse ? nt - 1 - t : t);
    }
    DOPT_CUDA_HD void barrier() {}
};

/* Step t's propagation (t < T-1): W = V F_t and w = V f_t + v (factor), or w = v (adjoint: f = 0). */
template <typename T>
DOPT_CUDA_HD void dopt__cuda_lqr_propagate(int tid, int nt, int n, int N, const T *F, const T *f, bool factor,
                                           const dopt__cuda_lqr_smem<T> &s)
{
    const int first = factor ? 0 : n * N;
    for (int e = first + tid; e < n * N + n; e += nt) {
        if (e < n * N) {
            const int i = e % n, j = e / n;
            T acc = 0;
            for (int k = 0; k < n; ++k) acc += s.V[i + k * n] * F[k + j * n];
            s.W[e] = acc;
        } else {
            const int i = e - n * N;
            T acc = s.v[i];
            if (f)
                for (int k = 0; k < n; ++k) acc += s.V[i + k * n] * f[k];
            s.w[i] = acc;
        }
    }
}

/* Step t's quadratic model: Q = C_t + F_tᵀ W (factor only) and q = lin_t + F_tᵀ w (F NULL at t = T-1). */
template <typename T>
DOPT_CUDA_HD void dopt__cuda_lqr_stage(int tid, int nt, int n, int N, const T *C, const T *lin, const T *F, bool factor,
                                       const dopt__cuda_lqr_smem<T> &s)
{
    const int nq = factor ? N * N : 0;
    for (int e = tid; e < nq + N; e += nt) {
        if (e < nq) {
            const int i = e % N, j = e / N;
            T acc = C[e];
            if (F)
                for (int k = 0; k < n; ++k) acc += F[k + i * n] * s.W[k + j * n];
            s.Q[e] = acc;
        } else {
            const int i = e - nq;
            T acc = lin[i];
            if (F)
                for (int k = 0; k < n; ++k) acc += F[k + i * n] * s.w[k];
            s.q[i] = acc;
        }
    }
}

/* The Q_uu block into the packed factor (factor; else the stored factor Lg) and the right-hand
 * sides R = -[Q_ux q_u] (factor) or R = -q_u (adjoint). */
template <typename T>
DOPT_CUDA_HD void dopt__cuda_lqr_rhs(int tid, int nt, int n, int m, bool factor, const T *Lg,
                                     const dopt__cuda_lqr_smem<T> &s)
{
    const int N = n + m, nr = factor ? n + 1 : 1;
    for (int e = tid; e < m * m + m * nr; e += nt) {
        if (e < m * m) {
            const int i = e % m, j = e / m;
            if (i >= j) s.L[e] = factor ? s.Q[(n + i) + (n + j) * N] : Lg[e];
        } else {
            const int r = e - m * m, i = r % m, j = r / m;
            s.R[r] = factor && j < n ? -s.Q[(n + i) + j * N] : -s.q[n + i];
        }
    }
}

/* The value function of step t and the stored gains: V = Q_xx + Q_xu K (factor), v = q_x + Kᵀ q_u;
 * K, k and the factor go to the element's workspace (the adjoint stores its k only). */
template <typename T>
DOPT_CUDA_HD void dopt__cuda_lqr_value(int tid, int nt, int n, int m, bool factor, T *K, T *k, T *Lg,
                                       const dopt__cuda_lqr_smem<T> &s)
{
    const int N = n + m, nV = factor ? n * n : 0, nK = factor ? m * n : 0, nL = factor ? m * m : 0;
    const T *Km = factor ? s.R : K, *kr = factor ? s.R + m * n : s.R;
    for (int e = tid; e < nV + n + nK + m + nL; e += nt) {
        if (e < nV) {
            const int i = e % n, j = e / n;
            T acc = s.Q[i + j * N];
            for (int r = 0; r < m; ++r) acc += s.Q[i + (n + r) * N] * s.R[r + j * m];
            s.V[e] = acc;
        } else if (e < nV + n) {
            const int i = e - nV;
            T acc = s.q[i];
            for (int r = 0; r < m; ++r) acc += Km[r + i * m] * s.q[n + r];
            s.v[i] = acc;
        } else if (e < nV + n + nK) {
            const int r = e - nV - n;
            K[r] = s.R[r];
        } else if (e < nV + n + nK + m) {
            const int i = e - nV - n - nK;
            k[i] = kr[i];
        } else {
            const int r = e - nV - n - nK - m;
            Lg[r] = s.L[r];
        }
    }
}

/* Cholesky of the packed m x m Q_uu in s.L (the phases of the batched potrf).  Returns -1 or the
 * failing column. */
template <typename T, typename Ex>
DOPT_CUDA_HD int dopt__cuda_lqr_potrf(Ex &ex, int m, T *S, bool *nonfinite)
{
    const int nt = ex.nt;
    for (int j = 0; j < m; ++j) {
        T d = S[j + j * m]; /* every thread reads the same pivot: the branch is uniform */
        ex.barrier();
        if (!(d > 0) || !dopt__cuda_finite(d)) {
            *nonfinite = !dopt__cuda_finite(d);
            return j;
        }
        d = dopt__cuda_sqrt(d);
        ex.phase([&](int tid) { dopt__cuda_potrf_scale(tid, nt, m, j, d, S); });
        ex.phase([&](int tid) { dopt__cuda_potrf_update(tid, nt, m, j, S); });
    }
    return -1;
}
/* R <- Q_uu⁻¹ R (m x nr, ld m) with the factor in S. */
template <typename T, typename Ex> DOPT_CUDA_HD void dopt__cuda_lqr_potrs(Ex &ex, int m, int nr, const T *S, T *R)
{
    const int nt = ex.nt;
    for (int k = 0; k < m; ++k) {
        ex.phase([&](int tid) { dopt__cuda_potrs_div(tid, nt, m, nr, k, S, R, m); });
        ex.phase([&](int tid) { dopt__cuda_potrs_fwd(tid, nt, m, nr, k, S, R, m); });
    }
    for (int k = m - 1; k >= 0; --k) {
        ex.phase([&](int tid) { dopt__cuda_potrs_div(tid, nt, m, nr, k, S, R, m); });
        ex.phase([&](int tid) { dopt__cuda_potrs_bwd(tid, nt, m, nr, k, S, R, m); });
    }
}

/* The backward Riccati sweep of element b.  factor: from (C, F, f) and the linear term lin (= c),
 * factoring Q_uu and storing K, k, L in e; adjoint (factor false): the stored K and L with linear
 * term lin (= dL/dtau) and f = 0, storing k only.  Returns -1, or the step whose Q_uu is not positive
 * definite (*nonfinite: its pivot was NaN/Inf). */
template <typename T, typename Ex>
DOPT_CUDA_HD int dopt__cuda_lqr_sweep(Ex &ex, int n, int m, int T_, const dopt_cuda_lqr_data<T> &d, ptrdiff_t b,
                                      dopt_cuda_cseq<T> lin, bool factor, const dopt__cuda_lqr_elem<T> &e,
                                      const dopt__cuda_lqr_smem<T> &s, bool *nonfinite)
{
    const int N = n + m, nt = ex.nt;
    *nonfinite = false;
    for (int t = T_ - 1; t >= 0; --t) {
        const T *F = t < T_ - 1 ? dopt__cuda_at(d.F, b, t) : (const T *)0;
        const T *f = F && factor && d.f.p ? dopt__cuda_at(d.f, b, t) : (const T *)0;
        const T *C = dopt__cuda_at(d.C, b, t), *c = dopt__cuda_at(lin, b, t);
        T *K = e.K + (ptrdiff_t)t * m * n, *k = e.k + (ptrdiff_t)t * m, *L = e.L + (ptrdiff_t)t * m * m;
        if (F) ex.phase([&](int tid) { dopt__cuda_lqr_propagate(tid, nt, n, N, F, f, factor, s); });
        ex.phase([&](int tid) { dopt__cuda_lqr_stage(tid, nt, n, N, C, c, F, factor, s); });
        ex.phase([&](int tid) { dopt__cuda_lqr_rhs(tid, nt, n, m, factor, L, s); });
        if (factor && dopt__cuda_lqr_potrf(ex, m, s.L, nonfinite) >= 0) return t;
        dopt__cuda_lqr_potrs(ex, m, factor ? n + 1 : 1, s.L, s.R);
        ex.phase([&](int tid) { dopt__cuda_lqr_value(tid, nt, n, m, factor, K, k, L, s); });
    }
    return -1;
}

/* The rollout u_t = K_t x_t + k_t, x_{t+1} = F_t tau_t + f_t from x_init (primal) or from 0 with
 * f = 0 (adjoint), written to tau. */
template <typename T, typename Ex>
DOPT_CUDA_HD void dopt__cuda_lqr_rollout(Ex &ex, int n, int m, int T_, const dopt_cuda_lqr_data<T> &d, ptrdiff_t b,
                                         bool primal, const dopt__cuda_lqr_elem<T> &e, const dopt__cuda_lqr_smem<T> &s,
                                         dopt_cuda_seq<T> tau)
{
    const int N = n + m, nt = ex.nt;
    const T *x0 = dopt__cuda_at(d.x_init, b, 0);
    ex.phase([&](int tid) {
        for (int i = tid; i < n; i += nt) s.x[i] = primal ? x0[i] : (T)0;
    });
    for (int t = 0; t < T_; ++t) {
        const T *K = e.K + (ptrdiff_t)t * m * n, *k = e.k + (ptrdiff_t)t * m;
        const T *F = t < T_ - 1 ? dopt__cuda_at(d.F, b, t) : (const T *)0;
        const T *f = F && primal && d.f.p ? dopt__cuda_at(d.f, b, t) : (const T *)0;
        T *tau_t = dopt__cuda_at(tau, b, t);
        ex.phase([&](int tid) {
            for (int i = tid; i < m; i += nt) {
                T acc = k[i];
                for (int j = 0; j < n; ++j) acc += K[i + j * m] * s.x[j];
                s.x[n + i] = acc;
            }
        });
        ex.phase([&](int tid) {
            for (int r = tid; r < N + (F ? n : 0); r += nt) {
                if (r < N) {
                    tau_t[r] = s.x[r];
                } else {
                    const int i = r - N;
                    T acc = f ? f[i] : (T)0;
                    for (int j = 0; j < N; ++j) acc += F[i + j * n] * s.x[j];
                    s.xn[i] = acc;
                }
            }
        });
        if (F)
            ex.phase([&](int tid) {
                for (int i = tid; i < n; i += nt) s.x[i] = s.xn[i];
            });
    }
}

/* The multipliers lam_t = (C_t tau_t + lin_t + F_tᵀ lam_{t+1})_x, from t = T-1 down. */
template <typename T, typename Ex>
DOPT_CUDA_HD void dopt__cuda_lqr_multipliers(Ex &ex, int n, int m, int T_, const dopt_cuda_lqr_data<T> &d, ptrdiff_t b,
                                             dopt_cuda_cseq<T> lin, dopt_cuda_cseq<T> tau, dopt_cuda_seq<T> lam)
{
    const int N = n + m, nt = ex.nt;
    for (int t = T_ - 1; t >= 0; --t) {
        const T *C = dopt__cuda_at(d.C, b, t), *c = dopt__cuda_at(lin, b, t), *tau_t = dopt__cuda_at(tau, b, t);
        const T *F = t < T_ - 1 ? dopt__cuda_at(d.F, b, t) : (const T *)0;
        const T *lam_next = F ? dopt__cuda_at(lam, b, t + 1) : (const T *)0;
        T *lam_t = dopt__cuda_at(lam, b, t);
        ex.phase([&](int tid) {
            for (int i = tid; i < n; i += nt) {
                T acc = c[i];
                for (int j = 0; j < N; ++j) acc += C[i + j * N] * tau_t[j];
                if (F)
                    for (int k = 0; k < n; ++k) acc += F[k + i * n] * lam_next[k];
                lam_t[i] = acc;
            }
        });
    }
}

/* True when the T blocks of `len` reals of element b in a and b2 (b2.p may be NULL) are finite. */
template <typename T, typename Ex>
DOPT_CUDA_HD bool dopt__cuda_lqr_finite(Ex &ex, int T_, ptrdiff_t b, dopt_cuda_cseq<T> a, int la, dopt_cuda_cseq<T> a2,
                                        int la2, T *flag)
{
    const int nt = ex.nt;
    ex.phase([&](int tid) {
        if (tid == 0) *flag = 0;
    });
    ex.phase([&](int tid) {
        for (int t = 0; t < T_; ++t) {
            const T *p = dopt__cuda_at(a, b, t), *p2 = a2.p ? dopt__cuda_at(a2, b, t) : (const T *)0;
            for (int i = tid; i < la + (p2 ? la2 : 0); i += nt)
                if (!dopt__cuda_finite(i < la ? p[i] : p2[i - la])) *flag = 1;
        }
    });
    bool ok = *flag == 0;
    ex.barrier();
    return ok;
}

/* One element's forward: sweep, rollout, multipliers (lam.p NULL: skipped), finiteness.  *fail_t:
 * the failing step or -1.  Returns DOPT_OK, DOPT_ERR_NOT_POSITIVE_DEFINITE, DOPT_ERR_NON_FINITE. */
template <typename T, typename Ex>
DOPT_CUDA_HD dopt_status dopt__cuda_lqr_solve_element(Ex &ex, int n, int m, int T_, const dopt_cuda_lqr_data<T> &d,
                                                      ptrdiff_t b, dopt_cuda_seq<T> tau, dopt_cuda_seq<T> lam,
                                                      const dopt__cuda_lqr_elem<T> &e,
                                                      const dopt__cuda_lqr_smem<T> &s, int *fail_t)
{
    bool nonfinite = false;
    *fail_t = dopt__cuda_lqr_sweep(ex, n, m, T_, d, b, d.c, true, e, s, &nonfinite);
    if (*fail_t >= 0) return nonfinite ? DOPT_ERR_NON_FINITE : DOPT_ERR_NOT_POSITIVE_DEFINITE;
    dopt__cuda_lqr_rollout(ex, n, m, T_, d, b, true, e, s, tau);
    if (lam.p) dopt__cuda_lqr_multipliers(ex, n, m, T_, d, b, d.c, dopt__cuda_const(tau), lam);
    return dopt__cuda_lqr_finite(ex, T_, b, dopt__cuda_const(tau), n + m, dopt__cuda_const(lam), n, s.flag)
               ? DOPT_OK
               : DOPT_ERR_NON_FINITE;
}

/* The gradients of element b from the adjoint solution (dt, dl) and the forward's (tau, lam):
 * zeroed, then every step's contribution added (ts = 0 sums the steps). */
template <typename T, typename Ex>
DOPT_CUDA_HD void dopt__cuda_lqr_grads(Ex &ex, int n, int m, int T_, ptrdiff_t b, dopt_cuda_cseq<T> tau,
                                       dopt_cuda_cseq<T> lam, dopt_cuda_cseq<T> dt, dopt_cuda_cseq<T> dl,
                                       const dopt_cuda_lqr_grad<T> &g)
{
    const int N = n + m, nt = ex.nt;
    const int nC = g.C.p ? N * N : 0, nc = g.c.p ? N : 0, nF = g.F.p ? n * N : 0, nf = g.f.p ? n : 0;
    ex.phase([&](int tid) {
        for (int t = 0; t < T_; ++t) {
            const int nFt = t < T_ - 1 ? nF : 0, nft = t < T_ - 1 ? nf : 0;
            for (int r = tid; r < nC + nc + nFt + nft; r += nt) {
                if (r < nC) dopt__cuda_at(g.C, b, t)[r] = 0;
                else if (r < nC + nc) dopt__cuda_at(g.c, b, t)[r - nC] = 0;
                else if (r < nC + nc + nFt) dopt__cuda_at(g.F, b, t)[r - nC - nc] = 0;
                else dopt__cuda_at(g.f, b, t)[r - nC - nc - nFt] = 0;
            }
        }
    });
    for (int t = 0; t < T_; ++t) {
        const T *x = dopt__cuda_at(tau, b, t), *dx = dopt__cuda_at(dt, b, t);
        const T *l1 = t < T_ - 1 ? dopt__cuda_at(lam, b, t + 1) : (const T *)0;
        const T *dl1 = t < T_ - 1 ? dopt__cuda_at(dl, b, t + 1) : (const T *)0;
        const int nFt = l1 ? nF : 0, nft = l1 ? nf : 0;
        ex.phase([&](int tid) {
            for (int r = tid; r < nC + nc + nFt + nft; r += nt) {
                if (r < nC) {
                    const int i = r % N, j = r / N;
                    dopt__cuda_at(g.C, b, t)[r] += (T)0.5 * (dx[i] * x[j] + x[i] * dx[j]);
                } else if (r < nC + nc) {
                    dopt__cuda_at(g.c, b, t)[r - nC] += dx[r - nC];
                } else if (r < nC + nc + nFt) {
                    const int q = r - nC - nc, i = q % n, j = q / n;
                    dopt__cuda_at(g.F, b, t)[q] += dl1[i] * x[j] + l1[i] * dx[j];
                } else {
                    const int i = r - nC - nc - nFt;
                    dopt__cuda_at(g.f, b, t)[i] += dl1[i];
                }
            }
        });
    }
    if (g.x_init.p)
        ex.phase([&](int tid) {
            for (int i = tid; i < n; i += nt) dopt__cuda_at(g.x_init, b, 0)[i] = dl.p[i];
        });
}

/* One element's backward: the adjoint sweep and rollout with linear term dtau, its multipliers, the
 * gradients.  Needs the forward's workspace e (gains and factors) and its (tau, lam).  Returns
 * DOPT_OK or DOPT_ERR_NON_FINITE (non-finite adjoint). */
template <typename T, typename Ex>
DOPT_CUDA_HD dopt_status dopt__cuda_lqr_backward_element(Ex &ex, int n, int m, int T_, const dopt_cuda_lqr_data<T> &d,
                                                         ptrdiff_t b, dopt_cuda_cseq<T> tau, dopt_cuda_cseq<T> lam,
                                                         dopt_cuda_cseq<T> dtau, const dopt_cuda_lqr_grad<T> &g,
                                                         const dopt__cuda_lqr_elem<T> &e,
                                                         const dopt__cuda_lqr_smem<T> &s)
{
    const int N = n + m;
    bool nonfinite = false;
    dopt_cuda_seq<T> dt = {e.dtau, N, 0}, dl = {e.dlam, n, 0};
    dopt__cuda_lqr_sweep(ex, n, m, T_, d, b, dtau, false, e, s, &nonfinite);
    dopt__cuda_lqr_rollout(ex, n, m, T_, d, b, false, e, s, dt);
    /* the adjoint's multipliers (dt, dl have batch stride 0: the element's own workspace) */
    dopt__cuda_lqr_multipliers(ex, n, m, T_, d, b, dtau, dopt__cuda_const(dt), dl);
    if (!dopt__cuda_lqr_finite(ex, T_, 0, dopt__cuda_const(dt), N, dopt__cuda_const(dl), n, s.flag))
        return DOPT_ERR_NON_FINITE;
    dopt__cuda_lqr_grads(ex, n, m, T_, b, tau, lam, dopt__cuda_const(dt), dopt__cuda_const(dl), g);
    return DOPT_OK;
}

/* dopt_cuda_emulate_lqr_solve / _backward: the kernels' blocks on the host (nt threads in lockstep),
 * element by element.  work: batch * dopt_cuda_lqr_element_reals(n, m, T) reals (the forward fills
 * it, the backward reads it); smem: dopt_cuda_lqr_shared_reals(n, m) reals; fail_t, status: batch
 * entries or NULL.  Returns the first failing element's status (*first_fail = its index). */
template <typename T>
dopt_status dopt_cuda_emulate_lqr_solve(ptrdiff_t batch, int n, int m, int T_, const dopt_cuda_lqr_data<T> &d,
                                        dopt_cuda_seq<T> tau, dopt_cuda_seq<T> lam, int *fail_t, dopt_status *status,
                                        T *work, T *smem, int nt, bool reverse, ptrdiff_t *first_fail)
{
    dopt__cuda_host_exec ex = {nt, reverse};
    dopt__cuda_lqr_smem<T> s = dopt__cuda_lqr_smem_of(smem, n, m);
    dopt_status first = DOPT_OK;
    *first_fail = -1;
    for (ptrdiff_t b = 0; b < batch; ++b) {
        dopt__cuda_lqr_elem<T> e = dopt__cuda_lqr_elem_of(work + b * dopt_cuda_lqr_element_reals(n, m, T_), n, m, T_);
        int ft = -1;
        dopt_status st = dopt__cuda_lqr_solve_element(ex, n, m, T_, d, b, tau, lam, e, s, &ft);
        if (fail_t) fail_t[b] = ft;
        if (status) status[b] = st;
        if (st != DOPT_OK && first == DOPT_OK) {
            first = st;
            *first_fail = b;
        }
    }
    return first;
}
template <typename T>
dopt_status dopt_cuda_emulate_lqr_backward(ptrdiff_t batch, int n, int m, int T_, const dopt_cuda_lqr_data<T> &d,
                                           dopt_cuda_cseq<T> tau, dopt_cuda_cseq<T> lam, dopt_cuda_cseq<T> dtau,
                                           const dopt_cuda_lqr_grad<T> &g, T *work, T *smem, int nt, bool reverse)
{
    dopt__cuda_host_exec ex = {nt, reverse};
    dopt__cuda_lqr_smem<T> s = dopt__cuda_lqr_smem_of(smem, n, m);
    dopt_status first = DOPT_OK;
    for (ptrdiff_t b = 0; b < batch; ++b) {
        dopt__cuda_lqr_elem<T> e = dopt__cuda_lqr_elem_of(work + b * dopt_cuda_lqr_element_reals(n, m, T_), n, m, T_);
        dopt_status st = dopt__cuda_lqr_backward_element(ex, n, m, T_, d, b, tau, lam, dtau, g, e, s);
        if (st != DOPT_OK && first == DOPT_OK) first = st;
    }
    return first;
}

/* =============================================================================================== */
/* Host API on device memory (CUDA only).                                                          */
/* =============================================================================================== */
#ifdef __CUDACC__
#ifdef __cplusplus
extern "C" {
#endif

/* dopt_cuda_status_of: the dopt_status of a CUDA error (see "CUDA errors" above); fills info with
 * CUDA's error text when e != cudaSuccess. */
DOPT_API dopt_status dopt_cuda_status_of(cudaError_t e, dopt_errinfo *info);

/* ---- Lie groups, one element per thread ---------------------------------------------------------
 * dopt_cuda_<group>_<op>_batch_{f,d}: the batched form of dopt_lie.h's dopt_<group>_<op>_batch on
 * device arrays.  n elements (n = 0 does nothing); element k reads x + k * sx; strides >= the
 * element size (SO3 4 reals, SE3 7, tangents 3 and 6, points 3).  Jacobians (NULL to skip): packed
 * row-major blocks, J + 9k (SO3), J + 36k (SE3), Jg + 18k for se3_act.  Outputs may alias their
 * inputs element for element.  Asynchronous on `stream`.  Returns DOPT_OK (queued),
 * DOPT_ERR_INVALID_ARGUMENT (n < 0, NULL array with n > 0, stride too small), or a mapped CUDA
 * launch error. */
#define DOPT__CUDA_DECL_UNARY(name, T)                                                                \
    DOPT_API dopt_status name(ptrdiff_t n, const T *x, ptrdiff_t sx, T *y, ptrdiff_t sy, T *J,       \
                              cudaStream_t stream, dopt_errinfo *info);
#define DOPT__CUDA_DECL_BINARY(name, T)                                                               \
    DOPT_API dopt_status name(ptrdiff_t n, const T *a, ptrdiff_t sa, const T *b, ptrdiff_t sb, T *c, \
                              ptrdiff_t sc, T *Ja, T *Jb, cudaStream_t stream, dopt_errinfo *info);
/* so3_exp: w (3) -> g (4), J = Jr(w).   so3_log: g -> w, J = Jr(w)⁻¹. */
DOPT__CUDA_DECL_UNARY(dopt_cuda_so3_exp_batch_f, float)
DOPT__CUDA_DECL_UNARY(dopt_cuda_so3_exp_batch_d, double)
DOPT__CUDA_DECL_UNARY(dopt_cuda_so3_log_batch_f, float)
DOPT__CUDA_DECL_UNARY(dopt_cuda_so3_log_batch_d, double)
/* se3_exp: xi (6) -> g (7), J = Jr(xi).   se3_log: g -> xi, J = Jr(xi)⁻¹. */
DOPT__CUDA_DECL_UNARY(dopt_cuda_se3_exp_batch_f, float)
DOPT__CUDA_DECL_UNARY(dopt_cuda_se3_exp_batch_d, double)
DOPT__CUDA_DECL_UNARY(dopt_cuda_se3_log_batch_f, float)
DOPT__CUDA_DECL_UNARY(dopt_cuda_se3_log_batch_d, double)
/* so3_compose: c = a b, Ja = R_bᵀ, Jb = I.   so3_act (a = g, b = p, c = y): y = R p, Ja = -R [p]x,
 * Jb = R. */
DOPT__CUDA_DECL_BINARY(dopt_cuda_so3_compose_batch_f, float)
DOPT__CUDA_DECL_BINARY(dopt_cuda_so3_compose_batch_d, double)
DOPT__CUDA_DECL_BINARY(dopt_cuda_so3_act_batch_f, float)
DOPT__CUDA_DECL_BINARY(dopt_cuda_so3_act_batch_d, double)
/* se3_compose: c = a b, Ja = Ad(b⁻¹), Jb = I.   se3_between: c = a⁻¹ b, Ja = -Ad(c⁻¹), Jb = I.
 * se3_act (a = g, b = p, c = y): y = R p + t, Ja (3x6) = [R, -R [p]x], Jb (3x3) = R. */
DOPT__CUDA_DECL_BINARY(dopt_cuda_se3_compose_batch_f, float)
DOPT__CUDA_DECL_BINARY(dopt_cuda_se3_compose_batch_d, double)
DOPT__CUDA_DECL_BINARY(dopt_cuda_se3_between_batch_f, float)
DOPT__CUDA_DECL_BINARY(dopt_cuda_se3_between_batch_d, double)
DOPT__CUDA_DECL_BINARY(dopt_cuda_se3_act_batch_f, float)
DOPT__CUDA_DECL_BINARY(dopt_cuda_se3_act_batch_d, double)

/* ---- batched small Cholesky --------------------------------------------------------------------- */

/* Largest n of the batched factorizations (the matrix lives in one block's shared memory). */
#define DOPT_CUDA_POTRF_MAX_N 64

/* dopt_cuda_potrf_batched_workspace_size: device workspace bytes of dopt_cuda_potrf_batched and
 * dopt_cuda_anderson_batched (one 8-byte word today; query it, do not hard-code).  Never fails. */
DOPT_API size_t dopt_cuda_potrf_batched_workspace_size(ptrdiff_t batch);

/* dopt_cuda_potrf_batched: A_b = L_b L_bᵀ in place for b = 0 .. batch-1 (lower triangle of the
 * n x n column-major A + b * strideA, leading dimension lda; the strict upper triangle is neither
 * read nor written).  One thread block per matrix.  fail_col: optional device array (batch ints),
 * fail_col[b] = the first failing column of element b or -1.  work: device workspace of
 * dopt_cuda_potrf_batched_workspace_size(batch) bytes.  Synchronizes `stream` once at the end.
 * Returns DOPT_OK; the first failing element's DOPT_ERR_NOT_POSITIVE_DEFINITE or
 * DOPT_ERR_NON_FINITE with info->index = that element (its columns before the failing one hold
 * the partial factor; the other elements are factored); DOPT_ERR_INVALID_ARGUMENT (batch < 0,
 * n < 0, lda < n, strideA < lda n, NULL arrays); DOPT_ERR_UNSUPPORTED for n > 64;
 * DOPT_ERR_ALLOCATION when work_bytes is too small; mapped CUDA errors. */
DOPT_API dopt_status dopt_cuda_potrf_batched_f(ptrdiff_t batch, int n, float *A, int lda, ptrdiff_t strideA,
                                               int *fail_col, void *work, size_t work_bytes,
                                               cudaStream_t stream, dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_potrf_batched_d(ptrdiff_t batch, int n, double *A, int lda, ptrdiff_t strideA,
                                               int *fail_col, void *work, size_t work_bytes,
                                               cudaStream_t stream, dopt_errinfo *info);

/* dopt_cuda_potrs_batched: B_b <- (L_b L_bᵀ)⁻¹ B_b with the factors of dopt_cuda_potrf_batched;
 * B_b is n x nrhs column-major (B + b * strideB, leading dimension ldb).  Asynchronous.  Returns
 * DOPT_OK (queued), DOPT_ERR_INVALID_ARGUMENT, DOPT_ERR_UNSUPPORTED (n > 64), CUDA errors. */
DOPT_API dopt_status dopt_cuda_potrs_batched_f(ptrdiff_t batch, int n, int nrhs, const float *L, int ldl,
                                               ptrdiff_t strideL, float *B, int ldb, ptrdiff_t strideB,
                                               cudaStream_t stream, dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_potrs_batched_d(ptrdiff_t batch, int n, int nrhs, const double *L, int ldl,
                                               ptrdiff_t strideL, double *B, int ldb, ptrdiff_t strideB,
                                               cudaStream_t stream, dopt_errinfo *info);

/* ---- batched Anderson step ---------------------------------------------------------------------- */

/* dopt_cuda_anderson_batched: for each problem b, one Anderson step (dopt_cuda_anderson_one):
 *   X + b * strideX, G + b * strideG: d x m column-major (leading dimensions ldx, ldg >= d), the last
 *   m <= DOPT_CUDA_ANDERSON_MAX_M iterates and their images; x_new + b * strideN: d reals out.
 * One block per problem: FᵀF is accumulated over row tiles in shared memory, the m x m weights
 * solve runs on one thread.  status: optional device array (batch dopt_status), per element.
 * work: dopt_cuda_potrf_batched_workspace_size(batch) bytes.  opts may be NULL (defaults).
 * Synchronizes `stream` once.  Returns DOPT_OK, the first failing element's status
 * (DOPT_ERR_NOT_POSITIVE_DEFINITE: the weights system is singular; DOPT_ERR_NON_FINITE) with
 * info->index, DOPT_ERR_INVALID_ARGUMENT (sizes, strides, NULL, options), DOPT_ERR_UNSUPPORTED
 * (m > DOPT_CUDA_ANDERSON_MAX_M), DOPT_ERR_ALLOCATION (work too small), CUDA errors. */
DOPT_API dopt_status dopt_cuda_anderson_batched_f(ptrdiff_t batch, int d, int m, const float *X, int ldx,
                                                  ptrdiff_t strideX, const float *G, int ldg, ptrdiff_t strideG,
                                                  float *x_new, ptrdiff_t strideN,
                                                  const dopt_cuda_anderson_options *opts, dopt_status *status,
                                                  void *work, size_t work_bytes, cudaStream_t stream,
                                                  dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_anderson_batched_d(ptrdiff_t batch, int d, int m, const double *X, int ldx,
                                                  ptrdiff_t strideX, const double *G, int ldg, ptrdiff_t strideG,
                                                  double *x_new, ptrdiff_t strideN,
                                                  const dopt_cuda_anderson_options *opts, dopt_status *status,
                                                  void *work, size_t work_bytes, cudaStream_t stream,
                                                  dopt_errinfo *info);

/* ---- batched CEM ---------------------------------------------------------------------------------- */

/* dopt_cuda_cem_sample_batched: for each problem b, K samples (dopt_cuda_cem_sample_one):
 *   X + b * strideX: d x K column-major (ld = d, strideX >= d K), sample k at column k;
 *   mean + b * strideM, std + b * strideS: d reals each (stride 0: shared by the batch).
 * The numbers depend only on (seed, iteration, b, k, i): bump `iteration` every CEM iteration.
 * One thread per entry; asynchronous.  Returns DOPT_OK (queued), DOPT_ERR_INVALID_ARGUMENT, CUDA
 * errors. */
DOPT_API dopt_status dopt_cuda_cem_sample_batched_f(ptrdiff_t batch, int d, int K, const float *mean, ptrdiff_t strideM,
                                                    const float *std_, ptrdiff_t strideS, unsigned long long seed,
                                                    unsigned long long iteration, float *X, ptrdiff_t strideX,
                                                    cudaStream_t stream, dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_cem_sample_batched_d(ptrdiff_t batch, int d, int K, const double *mean, ptrdiff_t strideM,
                                                    const double *std_, ptrdiff_t strideS, unsigned long long seed,
                                                    unsigned long long iteration, double *X, ptrdiff_t strideX,
                                                    cudaStream_t stream, dopt_errinfo *info);

/* dopt_cuda_cem_update_batched: for each problem b, the CEM update (dopt_cuda_cem_update_one) from
 * the samples X + b * strideX (d x K, ld = d) and their costs cost + b * strideC (K reals, filled
 * by the caller's own kernel), keeping the E cheapest (1 <= E <= K <= DOPT_CUDA_CEM_MAX_SAMPLES):
 * mean + b * strideM and std + b * strideS (d each, strides >= d) updated in place.  One block per
 * problem (ranks in parallel, then one thread per coordinate).  status: optional device array
 * (batch dopt_status).  work: dopt_cuda_potrf_batched_workspace_size(batch) bytes.  opts may be
 * NULL.  Synchronizes `stream` once.  Returns DOPT_OK, the first failing element's
 * DOPT_ERR_NON_FINITE with info->index, DOPT_ERR_INVALID_ARGUMENT (sizes, strides, NULL, options),
 * DOPT_ERR_UNSUPPORTED (K > DOPT_CUDA_CEM_MAX_SAMPLES), DOPT_ERR_ALLOCATION (work too small), CUDA
 * errors. */
DOPT_API dopt_status dopt_cuda_cem_update_batched_f(ptrdiff_t batch, int d, int K, int E, const float *X,
                                                    ptrdiff_t strideX, const float *cost, ptrdiff_t strideC,
                                                    float *mean, ptrdiff_t strideM, float *std_, ptrdiff_t strideS,
                                                    const dopt_cuda_cem_options *opts, dopt_status *status,
                                                    void *work, size_t work_bytes, cudaStream_t stream,
                                                    dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_cem_update_batched_d(ptrdiff_t batch, int d, int K, int E, const double *X,
                                                    ptrdiff_t strideX, const double *cost, ptrdiff_t strideC,
                                                    double *mean, ptrdiff_t strideM, double *std_, ptrdiff_t strideS,
                                                    const dopt_cuda_cem_options *opts, dopt_status *status,
                                                    void *work, size_t work_bytes, cudaStream_t stream,
                                                    dopt_errinfo *info);

/* ---- batched LQR ---------------------------------------------------------------------------------- */

/* dopt_cuda_lqr_workspace_size: device workspace bytes of dopt_cuda_lqr_solve_batched and
 * dopt_cuda_lqr_backward_batched for `batch` problems of (n, m, T): the per-element gains, Q_uu
 * factors and adjoint solution (dopt_cuda_lqr_element_reals each) plus a word for the first failure.
 * DOPT_ERR_INVALID_ARGUMENT for batch < 0, n < 1, m < 1, T < 1 or an overflowing size;
 * DOPT_ERR_UNSUPPORTED for n + m > DOPT_CUDA_LQR_MAX_N. */
DOPT_API dopt_status dopt_cuda_lqr_workspace_size_f(ptrdiff_t batch, int n, int m, int T, size_t *bytes,
                                                    dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_lqr_workspace_size_d(ptrdiff_t batch, int n, int m, int T, size_t *bytes,
                                                    dopt_errinfo *info);

/* dopt_cuda_lqr_solve_batched: solve `batch` unconstrained LQR problems of (n, m, T) (the data
 * layout of dopt_mpc.h's LQR; see "batched LQR" above), one thread block per problem.
 *   data  host struct of device sequences; C, c, x_init required, F required when T > 1, f.p may
 *         be NULL (zero).  Strides >= 0 (0 shares a block).
 *   tau   out: T vectors n+m per element (required);  lam  out: T vectors n (p NULL: not computed;
 *         the backward needs them).
 *   fail_t, status: optional device arrays (batch ints, batch dopt_status): the failing step or -1,
 *         the element's status.
 *   work  device workspace of dopt_cuda_lqr_workspace_size bytes; keeps the gains and factors that
 *         dopt_cuda_lqr_backward_batched reuses (do not touch it in between).
 * Synchronizes `stream` once.  Returns DOPT_OK; the first failing element's
 * DOPT_ERR_NOT_POSITIVE_DEFINITE (its Q_uu at fail_t) or DOPT_ERR_NON_FINITE with info->index = that
 * element (the others are solved); DOPT_ERR_INVALID_ARGUMENT (sizes, strides, NULL arrays);
 * DOPT_ERR_UNSUPPORTED (n + m > DOPT_CUDA_LQR_MAX_N); DOPT_ERR_ALLOCATION (work too small); CUDA
 * errors. */
DOPT_API dopt_status dopt_cuda_lqr_solve_batched_f(ptrdiff_t batch, int n, int m, int T, const dopt_cuda_lqr_data_f *data,
                                                   dopt_cuda_seq_f tau, dopt_cuda_seq_f lam, int *fail_t,
                                                   dopt_status *status, void *work, size_t work_bytes,
                                                   cudaStream_t stream, dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_lqr_solve_batched_d(ptrdiff_t batch, int n, int m, int T, const dopt_cuda_lqr_data_d *data,
                                                   dopt_cuda_seq_d tau, dopt_cuda_seq_d lam, int *fail_t,
                                                   dopt_status *status, void *work, size_t work_bytes,
                                                   cudaStream_t stream, dopt_errinfo *info);

/* dopt_cuda_lqr_backward_batched: gradients of a loss L(tau*) given dtau = dL/dtau* (T vectors n+m
 * per element) by the adjoint LQR, reusing the factors that dopt_cuda_lqr_solve_batched left in
 * `work` for the same data, and its tau and lam.  grad: host struct of device sequences (p NULL:
 * not wanted), overwritten; each element's blocks its own (bs > 0 when batch > 1), ts = 0 sums
 * the steps.  status: optional device array (batch dopt_status).  Call it only after a solve that
 * returned DOPT_OK (elements that failed there have no factors).  Synchronizes `stream` once.
 * Returns DOPT_OK; the first element whose adjoint is non-finite (DOPT_ERR_NON_FINITE, info->index);
 * DOPT_ERR_INVALID_ARGUMENT, DOPT_ERR_UNSUPPORTED, DOPT_ERR_ALLOCATION, CUDA errors as the solve. */
DOPT_API dopt_status dopt_cuda_lqr_backward_batched_f(ptrdiff_t batch, int n, int m, int T,
                                                      const dopt_cuda_lqr_data_f *data, dopt_cuda_cseq_f tau,
                                                      dopt_cuda_cseq_f lam, dopt_cuda_cseq_f dtau,
                                                      const dopt_cuda_lqr_grad_f *grad, dopt_status *status,
                                                      void *work, size_t work_bytes, cudaStream_t stream,
                                                      dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_lqr_backward_batched_d(ptrdiff_t batch, int n, int m, int T,
                                                      const dopt_cuda_lqr_data_d *data, dopt_cuda_cseq_d tau,
                                                      dopt_cuda_cseq_d lam, dopt_cuda_cseq_d dtau,
                                                      const dopt_cuda_lqr_grad_d *grad, dopt_status *status,
                                                      void *work, size_t work_bytes, cudaStream_t stream,
                                                      dopt_errinfo *info);

/* ---- pose-graph normal equations ------------------------------------------------------------------ */

/* dopt_cuda_se3_graph_normal_batched: the Gauss-Newton normal equations of `batch` SE3 pose graphs
 * with one structure (n_poses poses, n_edges between edges r = Log(meas⁻¹ · xi⁻¹ · xj), the costs of
 * dopt_lie.h), one thread per edge and element (dopt_cuda_se3_graph_normal_op):
 *   ij         device, 2 ints per edge (pose indices, in range), shared by the batch;
 *   slot       device, 3 ints per edge: the blocks of (i,i), (j,j), (i,j) among n_blocks, or NULL
 *              for the default layout (diagonal block of pose p at p, edge e's block at n_poses + e;
 *              n_blocks >= n_poses + n_edges);
 *   poses      element b's n_poses SE3 poses (7 reals each) at poses + b*sp;
 *   meas       element b's n_edges measurements (7 each) at meas + b*sm (sm = 0: shared);
 *   sqrt_info  36 reals per edge (row-major square-root information L, whitening r and J) at
 *              sqrt_info + b*si, or NULL (identity);
 *   H, g, cost out: element b's n_blocks 6x6 row-major blocks (H + b*sH), gradient Jᵀr (6 per pose,
 *              g + b*sg) and 1/2 |r|² (cost[b], or NULL); zeroed, then summed over the edges.
 * Asynchronous.  Inputs are assumed finite (a NaN pose gives NaN blocks and cost: check cost).
 * Returns DOPT_OK (queued), DOPT_ERR_INVALID_ARGUMENT (counts < 0, NULL arrays, strides too small),
 * or a mapped CUDA error.  Needs atomicAdd on reals (sm_60 and later for double). */
DOPT_API dopt_status dopt_cuda_se3_graph_normal_batched_f(ptrdiff_t batch, ptrdiff_t n_poses, ptrdiff_t n_edges,
                                                          const int *ij, const int *slot, ptrdiff_t n_blocks,
                                                          const float *poses, ptrdiff_t sp, const float *meas,
                                                          ptrdiff_t sm, const float *sqrt_info, ptrdiff_t si, float *H,
                                                          ptrdiff_t sH, float *g, ptrdiff_t sg, float *cost,
                                                          cudaStream_t stream, dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_se3_graph_normal_batched_d(ptrdiff_t batch, ptrdiff_t n_poses, ptrdiff_t n_edges,
                                                          const int *ij, const int *slot, ptrdiff_t n_blocks,
                                                          const double *poses, ptrdiff_t sp, const double *meas,
                                                          ptrdiff_t sm, const double *sqrt_info, ptrdiff_t si, double *H,
                                                          ptrdiff_t sH, double *g, ptrdiff_t sg, double *cost,
                                                          cudaStream_t stream, dopt_errinfo *info);

/* dopt_cuda_se3_graph_dense_batched: the dense damped Gauss-Newton matrix A_b = H_b + lambda I
 * (n = 6 n_poses, column-major at A + b*sA, both triangles) from the blocks H that
 * dopt_cuda_se3_graph_normal_batched wrote in its default layout (slot NULL), for graphs small
 * enough for the batched dense Cholesky (6 n_poses <= DOPT_CUDA_POTRF_MAX_N): with
 * dopt_cuda_potrf_batched / dopt_cuda_potrs_batched on -g and dopt_cuda_se3_retract_batched, one
 * Levenberg-Marquardt iteration of the whole batch runs on the GPU.  lambda >= 0.  Asynchronous.
 * Returns DOPT_OK (queued), DOPT_ERR_INVALID_ARGUMENT (counts, NULL, strides, lambda), CUDA errors. */
DOPT_API dopt_status dopt_cuda_se3_graph_dense_batched_f(ptrdiff_t batch, ptrdiff_t n_poses, ptrdiff_t n_edges,
                                                         const int *ij, const float *H, ptrdiff_t sH, float lambda,
                                                         float *A, ptrdiff_t sA, cudaStream_t stream,
                                                         dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_se3_graph_dense_batched_d(ptrdiff_t batch, ptrdiff_t n_poses, ptrdiff_t n_edges,
                                                         const int *ij, const double *H, ptrdiff_t sH, double lambda,
                                                         double *A, ptrdiff_t sA, cudaStream_t stream,
                                                         dopt_errinfo *info);
/* dopt_cuda_se3_retract_batched: x_k <- x_k · Exp(delta_k), normalized, for k < n (x + k*sx, 7
 * reals, sx >= 7; delta + k*sd, 6 reals, sd >= 6).  Asynchronous.  DOPT_OK (queued),
 * DOPT_ERR_INVALID_ARGUMENT, CUDA errors. */
DOPT_API dopt_status dopt_cuda_se3_retract_batched_f(ptrdiff_t n, float *x, ptrdiff_t sx, const float *delta, ptrdiff_t sd,
                                                     cudaStream_t stream, dopt_errinfo *info);
DOPT_API dopt_status dopt_cuda_se3_retract_batched_d(ptrdiff_t n, double *x, ptrdiff_t sx, const double *delta,
                                                     ptrdiff_t sd, cudaStream_t stream, dopt_errinfo *info);
#ifdef __cplusplus
}
#endif
#endif /* __CUDACC__ */
#endif /* DOPT_CUDA_CUH */

/* =============================================================================================== */
/* Implementation (CUDA only).                                                                     */
/* =============================================================================================== */
#if defined(__CUDACC__) && defined(DOPT_IMPLEMENTATION) && !defined(DOPT_CUDA_IMPLEMENTED)
#define DOPT_CUDA_IMPLEMENTED

#define DOPT__CUDA_THREADS 256

/* One element per thread, grid-stride loop. */
template <typename Op> __global__ void dopt__cuda_each_kernel(ptrdiff_t n, Op op)
{
    for (ptrdiff_t k = (ptrdiff_t)blockIdx.x * blockDim.x + threadIdx.x; k < n; k += (ptrdiff_t)gridDim.x * blockDim.x)
        op(k);
}

/* Blocks for n elements at DOPT__CUDA_THREADS each (capped: the kernels loop over the rest). */
static unsigned dopt__cuda_blocks(ptrdiff_t n, int per_block)
{
    ptrdiff_t b = (n + per_block - 1) / per_block;
    return (unsigned)(b < 1 ? 1 : b > (1 << 22) ? (1 << 22) : b);
}

DOPT_API dopt_status dopt_cuda_status_of(cudaError_t e, dopt_errinfo *info)
{
    dopt_status s;
    switch (e) {
    case cudaSuccess: return DOPT_OK;
    case cudaErrorMemoryAllocation: s = DOPT_ERR_ALLOCATION; break;
    case cudaErrorInvalidValue:
    case cudaErrorInvalidConfiguration:
    case cudaErrorInvalidDevicePointer:
    case cudaErrorIllegalAddress:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidResourceHandle: s = DOPT_ERR_INVALID_ARGUMENT; break;
    default: s = DOPT_ERR_UNSUPPORTED; break;
    }
    return dopt_errinfo_set(info, s, -1, 0, cudaGetErrorString(e));
}

/* The launch's status: configuration errors are reported at once by cudaGetLastError. */
static dopt_status dopt__cuda_launched(dopt_errinfo *info)
{
    return dopt_cuda_status_of(cudaGetLastError(), info);
}

template <typename Op, typename T>
static dopt_status dopt__cuda_unary(ptrdiff_t n, const T *x, ptrdiff_t sx, T *y, ptrdiff_t sy, T *J,
                                    cudaStream_t stream, dopt_errinfo *info)
{
    if (n < 0 || (n > 0 && (!x || !y)) || sx < Op::in_size() || sy < Op::out_size())
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "n < 0, NULL array or stride too small");
    if (n == 0) return dopt_errinfo_set(info, DOPT_OK, -1, 0, "");
    Op op = {x, sx, y, sy, J};
    dopt__cuda_each_kernel<<<dopt__cuda_blocks(n, DOPT__CUDA_THREADS), DOPT__CUDA_THREADS, 0, stream>>>(n, op);
    return dopt__cuda_launched(info);
}

template <typename Op, typename T>
static dopt_status dopt__cuda_binary(ptrdiff_t n, const T *a, ptrdiff_t sa, const T *b, ptrdiff_t sb, T *c,
                                     ptrdiff_t sc, T *Ja, T *Jb, cudaStream_t stream, dopt_errinfo *info)
{
    if (n < 0 || (n > 0 && (!a || !b || !c)) || sa < Op::a_size() || sb < Op::b_size() || sc < Op::out_size())
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "n < 0, NULL array or stride too small");
    if (n == 0) return dopt_errinfo_set(info, DOPT_OK, -1, 0, "");
    Op op = {a, sa, b, sb, c, sc, Ja, Jb};
    dopt__cuda_each_kernel<<<dopt__cuda_blocks(n, DOPT__CUDA_THREADS), DOPT__CUDA_THREADS, 0, stream>>>(n, op);
    return dopt__cuda_launched(info);
}

#define DOPT__CUDA_DEF_UNARY(name, OP, T)                                                              \
    DOPT_API dopt_status name(ptrdiff_t n, const T *x, ptrdiff_t sx, T *y, ptrdiff_t sy, T *J, \
                                         cudaStream_t stream, dopt_errinfo *info)                     \
    {                                                                                                 \
        return dopt__cuda_unary<OP<T>, T>(n, x, sx, y, sy, J, stream, info);                          \
    }
#define DOPT__CUDA_DEF_BINARY(name, OP, T)                                                             \
    DOPT_API dopt_status name(ptrdiff_t n, const T *a, ptrdiff_t sa, const T *b, ptrdiff_t sb, \
                                         T *c, ptrdiff_t sc, T *Ja, T *Jb, cudaStream_t stream,        \
                                         dopt_errinfo *info)                                          \
    {                                                                                                 \
        return dopt__cuda_binary<OP<T>, T>(n, a, sa, b, sb, c, sc, Ja, Jb, stream, info);             \
    }
DOPT__CUDA_DEF_UNARY(dopt_cuda_so3_exp_batch_f, dopt_cuda_so3_exp_op, float)
DOPT__CUDA_DEF_UNARY(dopt_cuda_so3_exp_batch_d, dopt_cuda_so3_exp_op, double)
DOPT__CUDA_DEF_UNARY(dopt_cuda_so3_log_batch_f, dopt_cuda_so3_log_op, float)
DOPT__CUDA_DEF_UNARY(dopt_cuda_so3_log_batch_d, dopt_cuda_so3_log_op, double)
DOPT__CUDA_DEF_UNARY(dopt_cuda_se3_exp_batch_f, dopt_cuda_se3_exp_op, float)
DOPT__CUDA_DEF_UNARY(dopt_cuda_se3_exp_batch_d, dopt_cuda_se3_exp_op, double)
DOPT__CUDA_DEF_UNARY(dopt_cuda_se3_log_batch_f, dopt_cuda_se3_log_op, float)
DOPT__CUDA_DEF_UNARY(dopt_cuda_se3_log_batch_d, dopt_cuda_se3_log_op, double)
DOPT__CUDA_DEF_BINARY(dopt_cuda_so3_compose_batch_f, dopt_cuda_so3_compose_op, float)
DOPT__CUDA_DEF_BINARY(dopt_cuda_so3_compose_batch_d, dopt_cuda_so3_compose_op, double)
DOPT__CUDA_DEF_BINARY(dopt_cuda_so3_act_batch_f, dopt_cuda_so3_act_op, float)
DOPT__CUDA_DEF_BINARY(dopt_cuda_so3_act_batch_d, dopt_cuda_so3_act_op, double)
DOPT__CUDA_DEF_BINARY(dopt_cuda_se3_compose_batch_f, dopt_cuda_se3_compose_op, float)
DOPT__CUDA_DEF_BINARY(dopt_cuda_se3_compose_batch_d, dopt_cuda_se3_compose_op, double)
DOPT__CUDA_DEF_BINARY(dopt_cuda_se3_between_batch_f, dopt_cuda_se3_between_op, float)
DOPT__CUDA_DEF_BINARY(dopt_cuda_se3_between_batch_d, dopt_cuda_se3_between_op, double)
DOPT__CUDA_DEF_BINARY(dopt_cuda_se3_act_batch_f, dopt_cuda_se3_act_op, float)
DOPT__CUDA_DEF_BINARY(dopt_cuda_se3_act_batch_d, dopt_cuda_se3_act_op, double)

/* ---- first failing element: an atomicMin over key = 2 element + (non-finite ? 1 : 0) ------------- */

typedef unsigned long long dopt__cuda_key;

DOPT_API size_t dopt_cuda_potrf_batched_workspace_size(ptrdiff_t batch)
{
    (void)batch;
    return sizeof(dopt__cuda_key);
}

__device__ __forceinline__ void dopt__cuda_record_failure(dopt__cuda_key *first, ptrdiff_t b, bool nonfinite)
{
    atomicMin(first, (dopt__cuda_key)b * 2u + (nonfinite ? 1u : 0u));
}

/* Clear the key (all ones = no failure) before a launch. */
static dopt_status dopt__cuda_key_reset(void *work, size_t work_bytes, cudaStream_t stream, dopt_errinfo *info)
{
    if (!work || work_bytes < sizeof(dopt__cuda_key))
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "workspace missing or too small");
    return dopt_cuda_status_of(cudaMemsetAsync(work, 0xff, sizeof(dopt__cuda_key), stream), info);
}

/* After the launch: read the key back (synchronizing the stream) and turn it into the status of
 * the first failing element (`failure` is its status unless that element was non-finite). */
static dopt_status dopt__cuda_key_status(const void *work, dopt_status failure, const char *what,
                                         cudaStream_t stream, dopt_errinfo *info)
{
    dopt__cuda_key key = 0;
    dopt_status s = dopt__cuda_launched(info);
    if (s != DOPT_OK) return s;
    s = dopt_cuda_status_of(cudaMemcpyAsync(&key, work, sizeof key, cudaMemcpyDeviceToHost, stream), info);
    if (s != DOPT_OK) return s;
    s = dopt_cuda_status_of(cudaStreamSynchronize(stream), info);
    if (s != DOPT_OK) return s;
    if (key == ~(dopt__cuda_key)0) return dopt_errinfo_set(info, DOPT_OK, -1, 0, "");
    return dopt_errinfo_set(info, (key & 1u) ? DOPT_ERR_NON_FINITE : failure, (long)(key >> 1), 0, what);
}

/* ---- batched Cholesky: one block per matrix, the matrix packed (ld = n) in shared memory ---------- */

template <typename T>
__global__ void dopt__cuda_potrf_kernel(ptrdiff_t batch, int n, T *A, int lda, ptrdiff_t strideA, int *fail_col,
                                        dopt__cuda_key *first)
{
    extern __shared__ __align__(16) unsigned char dopt__cuda_smem[];
    T *S = (T *)dopt__cuda_smem;
    const int tid = threadIdx.x, nt = blockDim.x;
    for (ptrdiff_t b = blockIdx.x; b < batch; b += gridDim.x) {
        T *Ab = A + b * strideA;
        int fail = -1;
        bool nonfinite = false;
        dopt__cuda_tri_load(tid, nt, n, Ab, lda, S);
        __syncthreads();
        for (int j = 0; j < n; ++j) {
            T d = S[j + j * n]; /* every thread reads the same pivot: the branch is uniform */
            if (!(d > 0) || !dopt__cuda_finite(d)) {
                fail = j;
                nonfinite = !dopt__cuda_finite(d);
                break;
            }
            d = dopt__cuda_sqrt(d);
            __syncthreads(); /* all have read S[j, j] */
            dopt__cuda_potrf_scale(tid, nt, n, j, d, S);
            __syncthreads();
            dopt__cuda_potrf_update(tid, nt, n, j, S);
            __syncthreads();
        }
        __syncthreads();
        dopt__cuda_tri_store(tid, nt, n, S, Ab, lda);
        if (tid == 0) {
            if (fail_col) fail_col[b] = fail;
            if (fail >= 0) dopt__cuda_record_failure(first, b, nonfinite);
        }
        __syncthreads(); /* S is reused by the next matrix */
    }
}

/* Threads per block for an n x n matrix: a warp for tiny matrices, more as the update grows. */
static int dopt__cuda_dense_threads(int n)
{
    return n <= 8 ? 32 : n <= 24 ? 128 : 256;
}

template <typename T>
static dopt_status dopt__cuda_potrf_batched(ptrdiff_t batch, int n, T *A, int lda, ptrdiff_t strideA, int *fail_col,
                                            void *work, size_t work_bytes, cudaStream_t stream, dopt_errinfo *info)
{
    if (batch < 0 || n < 0 || lda < (n > 1 ? n : 1) || (batch > 1 && strideA < (ptrdiff_t)lda * n) ||
        (batch > 0 && n > 0 && !A))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bad size, stride or NULL array");
    if (n > DOPT_CUDA_POTRF_MAX_N)
        return dopt_errinfo_set(info, DOPT_ERR_UNSUPPORTED, -1, 0, "n > DOPT_CUDA_POTRF_MAX_N");
    dopt_status s = dopt__cuda_key_reset(work, work_bytes, stream, info);
    if (s != DOPT_OK) return s;
    if (batch == 0 || n == 0) {
        if (fail_col && batch > 0) {
            s = dopt_cuda_status_of(cudaMemsetAsync(fail_col, 0xff, (size_t)batch * sizeof(int), stream), info);
            if (s != DOPT_OK) return s;
        }
        return dopt_cuda_status_of(cudaStreamSynchronize(stream), info);
    }
    size_t shmem = (size_t)n * n * sizeof(T);
    dopt__cuda_potrf_kernel<T><<<dopt__cuda_blocks(batch, 1), dopt__cuda_dense_threads(n), shmem, stream>>>(
        batch, n, A, lda, strideA, fail_col, (dopt__cuda_key *)work);
    return dopt__cuda_key_status(work, DOPT_ERR_NOT_POSITIVE_DEFINITE, "matrix not positive definite", stream, info);
}

DOPT_API dopt_status dopt_cuda_potrf_batched_f(ptrdiff_t batch, int n, float *A, int lda, ptrdiff_t strideA,
                                                          int *fail_col, void *work, size_t work_bytes,
                                                          cudaStream_t stream, dopt_errinfo *info)
{
    return dopt__cuda_potrf_batched<float>(batch, n, A, lda, strideA, fail_col, work, work_bytes, stream, info);
}
DOPT_API dopt_status dopt_cuda_potrf_batched_d(ptrdiff_t batch, int n, double *A, int lda, ptrdiff_t strideA,
                                                          int *fail_col, void *work, size_t work_bytes,
                                                          cudaStream_t stream, dopt_errinfo *info)
{
    return dopt__cuda_potrf_batched<double>(batch, n, A, lda, strideA, fail_col, work, work_bytes, stream, info);
}

/* Solve with L in shared memory; B is updated in global memory (each block owns its B_b). */
template <typename T>
__global__ void dopt__cuda_potrs_kernel(ptrdiff_t batch, int n, int nrhs, const T *L, int ldl, ptrdiff_t strideL,
                                        T *B, int ldb, ptrdiff_t strideB)
{
    extern __shared__ __align__(16) unsigned char dopt__cuda_smem[];
    T *S = (T *)dopt__cuda_smem;
    const int tid = threadIdx.x, nt = blockDim.x;
    for (ptrdiff_t b = blockIdx.x; b < batch; b += gridDim.x) {
        T *Bb = B + b * strideB;
        dopt__cuda_tri_load(tid, nt, n, L + b * strideL, ldl, S);
        __syncthreads();
        for (int k = 0; k < n; ++k) { /* L y = b */
            dopt__cuda_potrs_div(tid, nt, n, nrhs, k, S, Bb, ldb);
            __syncthreads();
            dopt__cuda_potrs_fwd(tid, nt, n, nrhs, k, S, Bb, ldb);
            __syncthreads();
        }
        for (int k = n - 1; k >= 0; --k) { /* Lᵀ x = y */
            dopt__cuda_potrs_div(tid, nt, n, nrhs, k, S, Bb, ldb);
            __syncthreads();
            dopt__cuda_potrs_bwd(tid, nt, n, nrhs, k, S, Bb, ldb);
            __syncthreads();
        }
    }
}

template <typename T>
static dopt_status dopt__cuda_potrs_batched(ptrdiff_t batch, int n, int nrhs, const T *L, int ldl, ptrdiff_t strideL,
                                            T *B, int ldb, ptrdiff_t strideB, cudaStream_t stream, dopt_errinfo *info)
{
    if (batch < 0 || n < 0 || nrhs < 0 || ldl < (n > 1 ? n : 1) || ldb < (n > 1 ? n : 1) ||
        (batch > 1 && (strideL < (ptrdiff_t)ldl * n || strideB < (ptrdiff_t)ldb * nrhs)) ||
        (batch > 0 && n > 0 && nrhs > 0 && (!L || !B)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bad size, stride or NULL array");
    if (n > DOPT_CUDA_POTRF_MAX_N)
        return dopt_errinfo_set(info, DOPT_ERR_UNSUPPORTED, -1, 0, "n > DOPT_CUDA_POTRF_MAX_N");
    if (batch == 0 || n == 0 || nrhs == 0) return dopt_errinfo_set(info, DOPT_OK, -1, 0, "");
    size_t shmem = (size_t)n * n * sizeof(T);
    dopt__cuda_potrs_kernel<T><<<dopt__cuda_blocks(batch, 1), dopt__cuda_dense_threads(n), shmem, stream>>>(
        batch, n, nrhs, L, ldl, strideL, B, ldb, strideB);
    return dopt__cuda_launched(info);
}

DOPT_API dopt_status dopt_cuda_potrs_batched_f(ptrdiff_t batch, int n, int nrhs, const float *L, int ldl,
                                                          ptrdiff_t strideL, float *B, int ldb, ptrdiff_t strideB,
                                                          cudaStream_t stream, dopt_errinfo *info)
{
    return dopt__cuda_potrs_batched<float>(batch, n, nrhs, L, ldl, strideL, B, ldb, strideB, stream, info);
}
DOPT_API dopt_status dopt_cuda_potrs_batched_d(ptrdiff_t batch, int n, int nrhs, const double *L, int ldl,
                                                          ptrdiff_t strideL, double *B, int ldb, ptrdiff_t strideB,
                                                          cudaStream_t stream, dopt_errinfo *info)
{
    return dopt__cuda_potrs_batched<double>(batch, n, nrhs, L, ldl, strideL, B, ldb, strideB, stream, info);
}

/* ---- batched Anderson: one block per problem ------------------------------------------------------- */


template <typename T>
__global__ void dopt__cuda_anderson_kernel(ptrdiff_t batch, int d, int m, const T *X, int ldx, ptrdiff_t strideX,
                                           const T *G, int ldg, ptrdiff_t strideG, T *x_new, ptrdiff_t strideN,
                                           T lambda, T beta, dopt_status *status, dopt__cuda_key *first)
{
    __shared__ T F[DOPT__CUDA_ANDERSON_ROWS * DOPT_CUDA_ANDERSON_MAX_M];
    __shared__ T H[DOPT_CUDA_ANDERSON_MAX_M * DOPT_CUDA_ANDERSON_MAX_M];
    __shared__ T alpha[DOPT_CUDA_ANDERSON_MAX_M];
    __shared__ int st;
    const int tid = threadIdx.x, nt = blockDim.x;
    for (ptrdiff_t b = blockIdx.x; b < batch; b += gridDim.x) {
        const T *Xb = X + b * strideX, *Gb = G + b * strideG;
        T acc = 0;
        for (int t0 = 0; t0 < d; t0 += DOPT__CUDA_ANDERSON_ROWS) {
            const int rows = d - t0 < DOPT__CUDA_ANDERSON_ROWS ? d - t0 : DOPT__CUDA_ANDERSON_ROWS;
            dopt__cuda_anderson_tile(tid, nt, rows, m, t0, Xb, ldx, Gb, ldg, F);
            __syncthreads();
            acc = dopt__cuda_anderson_accumulate(tid, rows, m, F, acc);
            __syncthreads();
        }
        if (tid < m * m) H[tid] = acc;
        __syncthreads();
        if (tid == 0) st = (int)dopt__cuda_anderson_weights(m, H, lambda, alpha);
        __syncthreads();
        bool finite = true;
        if (st == (int)DOPT_OK) finite = dopt__cuda_anderson_output(tid, nt, d, m, alpha, beta, Xb, ldx, Gb, ldg, x_new + b * strideN);
        finite = __syncthreads_and(finite) != 0;
        if (tid == 0) {
            dopt_status sb = st != (int)DOPT_OK ? (dopt_status)st : finite ? DOPT_OK : DOPT_ERR_NON_FINITE;
            if (status) status[b] = sb;
            if (sb != DOPT_OK) dopt__cuda_record_failure(first, b, sb == DOPT_ERR_NON_FINITE);
        }
        __syncthreads();
    }
}

template <typename T>
static dopt_status dopt__cuda_anderson_batched(ptrdiff_t batch, int d, int m, const T *X, int ldx, ptrdiff_t strideX,
                                               const T *G, int ldg, ptrdiff_t strideG, T *x_new, ptrdiff_t strideN,
                                               const dopt_cuda_anderson_options *opts, dopt_status *status,
                                               void *work, size_t work_bytes, cudaStream_t stream, dopt_errinfo *info)
{
    T lambda, beta;
    if (batch < 0 || d < 1 || m < 1 || ldx < d || ldg < d ||
        (batch > 1 && (strideX < (ptrdiff_t)ldx * m || strideG < (ptrdiff_t)ldg * m || strideN < d)) ||
        (batch > 0 && (!X || !G || !x_new)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bad size, stride or NULL array");
    if (!dopt__cuda_anderson_resolve(opts, &lambda, &beta))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "lambda < 0 or beta outside (0, 1]");
    if (m > DOPT_CUDA_ANDERSON_MAX_M)
        return dopt_errinfo_set(info, DOPT_ERR_UNSUPPORTED, -1, 0, "m > DOPT_CUDA_ANDERSON_MAX_M");
    dopt_status s = dopt__cuda_key_reset(work, work_bytes, stream, info);
    if (s != DOPT_OK) return s;
    if (batch == 0) return dopt_cuda_status_of(cudaStreamSynchronize(stream), info);
    dopt__cuda_anderson_kernel<T><<<dopt__cuda_blocks(batch, 1), DOPT__CUDA_THREADS, 0, stream>>>(
        batch, d, m, X, ldx, strideX, G, ldg, strideG, x_new, strideN, lambda, beta, status, (dopt__cuda_key *)work);
    return dopt__cuda_key_status(work, DOPT_ERR_NOT_POSITIVE_DEFINITE, "Anderson weights system singular", stream,
                                 info);
}

DOPT_API dopt_status dopt_cuda_anderson_batched_f(ptrdiff_t batch, int d, int m, const float *X, int ldx,
                                                             ptrdiff_t strideX, const float *G, int ldg,
                                                             ptrdiff_t strideG, float *x_new, ptrdiff_t strideN,
                                                             const dopt_cuda_anderson_options *opts,
                                                             dopt_status *status, void *work, size_t work_bytes,
                                                             cudaStream_t stream, dopt_errinfo *info)
{
    return dopt__cuda_anderson_batched<float>(batch, d, m, X, ldx, strideX, G, ldg, strideG, x_new, strideN, opts,
                                              status, work, work_bytes, stream, info);
}
DOPT_API dopt_status dopt_cuda_anderson_batched_d(ptrdiff_t batch, int d, int m, const double *X, int ldx,
                                                             ptrdiff_t strideX, const double *G, int ldg,
                                                             ptrdiff_t strideG, double *x_new, ptrdiff_t strideN,
                                                             const dopt_cuda_anderson_options *opts,
                                                             dopt_status *status, void *work, size_t work_bytes,
                                                             cudaStream_t stream, dopt_errinfo *info)
{
    return dopt__cuda_anderson_batched<double>(batch, d, m, X, ldx, strideX, G, ldg, strideG, x_new, strideN, opts,
                                               status, work, work_bytes, stream, info);
}

/* ---- batched CEM ------------------------------------------------------------------------------------ */

template <typename T>
__global__ void dopt__cuda_cem_sample_kernel(ptrdiff_t batch, int d, int K, const T *mean, ptrdiff_t strideM,
                                             const T *std_, ptrdiff_t strideS, unsigned long long seed,
                                             unsigned long long iteration, T *X, ptrdiff_t strideX)
{
    const ptrdiff_t total = batch * d * K;
    for (ptrdiff_t e = (ptrdiff_t)blockIdx.x * blockDim.x + threadIdx.x; e < total; e += (ptrdiff_t)gridDim.x * blockDim.x)
        dopt__cuda_cem_sample_entry(e, d, K, mean, strideM, std_, strideS, seed, iteration, X, strideX);
}

template <typename T>
static dopt_status dopt__cuda_cem_sample_batched(ptrdiff_t batch, int d, int K, const T *mean, ptrdiff_t strideM,
                                                 const T *std_, ptrdiff_t strideS, unsigned long long seed,
                                                 unsigned long long iteration, T *X, ptrdiff_t strideX,
                                                 cudaStream_t stream, dopt_errinfo *info)
{
    if (batch < 0 || d < 1 || K < 1 || strideM < 0 || strideS < 0 || (batch > 1 && strideX < (ptrdiff_t)d * K) ||
        (batch > 0 && (!mean || !std_ || !X)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bad size, stride or NULL array");
    if (batch == 0) return dopt_errinfo_set(info, DOPT_OK, -1, 0, "");
    dopt__cuda_cem_sample_kernel<T><<<dopt__cuda_blocks(batch * d * K, DOPT__CUDA_THREADS), DOPT__CUDA_THREADS, 0,
                                      stream>>>(batch, d, K, mean, strideM, std_, strideS, seed, iteration, X, strideX);
    return dopt__cuda_launched(info);
}

template <typename T>
__global__ void dopt__cuda_cem_update_kernel(ptrdiff_t batch, int d, int K, int E, const T *X, ptrdiff_t strideX,
                                             const T *cost, ptrdiff_t strideC, T *mean, ptrdiff_t strideM, T *std_,
                                             ptrdiff_t strideS, T alpha, T min_std, dopt_status *status,
                                             dopt__cuda_key *first)
{
    __shared__ int elite[DOPT_CUDA_CEM_MAX_SAMPLES];
    const int tid = threadIdx.x, nt = blockDim.x;
    for (ptrdiff_t b = blockIdx.x; b < batch; b += gridDim.x) {
        bool ok = __syncthreads_and(dopt__cuda_cem_rank_phase(tid, nt, K, E, cost + b * strideC, elite)) != 0;
        bool finite = true;
        if (ok)
            finite = dopt__cuda_cem_update_phase(tid, nt, d, E, X + b * strideX, elite, alpha, min_std, mean + b * strideM,
                                                 std_ + b * strideS);
        finite = __syncthreads_and(finite) != 0;
        if (tid == 0) {
            dopt_status sb = ok && finite ? DOPT_OK : DOPT_ERR_NON_FINITE;
            if (status) status[b] = sb;
            if (sb != DOPT_OK) dopt__cuda_record_failure(first, b, true);
        }
    }
}

template <typename T>
static dopt_status dopt__cuda_cem_update_batched(ptrdiff_t batch, int d, int K, int E, const T *X, ptrdiff_t strideX,
                                                 const T *cost, ptrdiff_t strideC, T *mean, ptrdiff_t strideM, T *std_,
                                                 ptrdiff_t strideS, const dopt_cuda_cem_options *opts,
                                                 dopt_status *status, void *work, size_t work_bytes,
                                                 cudaStream_t stream, dopt_errinfo *info)
{
    T alpha, min_std;
    if (batch < 0 || d < 1 || K < 1 || E < 1 || E > K ||
        (batch > 1 && (strideX < (ptrdiff_t)d * K || strideC < K || strideM < d || strideS < d)) ||
        (batch > 0 && (!X || !cost || !mean || !std_)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bad size, stride or NULL array");
    if (!dopt__cuda_cem_resolve(opts, &alpha, &min_std))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "alpha outside (0, 1] or min_std < 0");
    if (K > DOPT_CUDA_CEM_MAX_SAMPLES)
        return dopt_errinfo_set(info, DOPT_ERR_UNSUPPORTED, -1, 0, "K > DOPT_CUDA_CEM_MAX_SAMPLES");
    dopt_status s = dopt__cuda_key_reset(work, work_bytes, stream, info);
    if (s != DOPT_OK) return s;
    if (batch == 0) return dopt_cuda_status_of(cudaStreamSynchronize(stream), info);
    dopt__cuda_cem_update_kernel<T><<<dopt__cuda_blocks(batch, 1), DOPT__CUDA_THREADS, 0, stream>>>(
        batch, d, K, E, X, strideX, cost, strideC, mean, strideM, std_, strideS, alpha, min_std, status,
        (dopt__cuda_key *)work);
    return dopt__cuda_key_status(work, DOPT_ERR_NON_FINITE, "non-finite elite cost or update", stream, info);
}

DOPT_API dopt_status dopt_cuda_cem_sample_batched_f(ptrdiff_t batch, int d, int K, const float *mean, ptrdiff_t strideM,
                                                    const float *std_, ptrdiff_t strideS, unsigned long long seed,
                                                    unsigned long long iteration, float *X, ptrdiff_t strideX,
                                                    cudaStream_t stream, dopt_errinfo *info)
{
    return dopt__cuda_cem_sample_batched<float>(batch, d, K, mean, strideM, std_, strideS, seed, iteration, X, strideX,
                                                stream, info);
}
DOPT_API dopt_status dopt_cuda_cem_sample_batched_d(ptrdiff_t batch, int d, int K, const double *mean, ptrdiff_t strideM,
                                                    const double *std_, ptrdiff_t strideS, unsigned long long seed,
                                                    unsigned long long iteration, double *X, ptrdiff_t strideX,
                                                    cudaStream_t stream, dopt_errinfo *info)
{
    return dopt__cuda_cem_sample_batched<double>(batch, d, K, mean, strideM, std_, strideS, seed, iteration, X, strideX,
                                                 stream, info);
}
DOPT_API dopt_status dopt_cuda_cem_update_batched_f(ptrdiff_t batch, int d, int K, int E, const float *X,
                                                    ptrdiff_t strideX, const float *cost, ptrdiff_t strideC,
                                                    float *mean, ptrdiff_t strideM, float *std_, ptrdiff_t strideS,
                                                    const dopt_cuda_cem_options *opts, dopt_status *status,
                                                    void *work, size_t work_bytes, cudaStream_t stream,
                                                    dopt_errinfo *info)
{
    return dopt__cuda_cem_update_batched<float>(batch, d, K, E, X, strideX, cost, strideC, mean, strideM, std_, strideS,
                                                opts, status, work, work_bytes, stream, info);
}
DOPT_API dopt_status dopt_cuda_cem_update_batched_d(ptrdiff_t batch, int d, int K, int E, const double *X,
                                                    ptrdiff_t strideX, const double *cost, ptrdiff_t strideC,
                                                    double *mean, ptrdiff_t strideM, double *std_, ptrdiff_t strideS,
                                                    const dopt_cuda_cem_options *opts, dopt_status *status,
                                                    void *work, size_t work_bytes, cudaStream_t stream,
                                                    dopt_errinfo *info)
{
    return dopt__cuda_cem_update_batched<double>(batch, d, K, E, X, strideX, cost, strideC, mean, strideM, std_,
                                                 strideS, opts, status, work, work_bytes, stream, info);
}
/* ---- batched LQR: one block per problem, the phases of "batched LQR" ------------------------------ */

/* The kernel's executor: a phase runs in every thread, then the block waits. */
struct dopt__cuda_block_exec {
    int nt;
    template <typename F> DOPT_CUDA_HD void phase(F f)
    {
#ifdef __CUDA_ARCH__
        f((int)threadIdx.x);
        __syncthreads();
#else
        (void)f; /* never run on the host */
#endif
    }
    DOPT_CUDA_HD void barrier()
    {
#ifdef __CUDA_ARCH__
        __syncthreads();
#endif
    }
};

#define DOPT__CUDA_LQR_WORK_OFFSET 16 /* the failure key, then the elements' reals */

template <typename T>
static dopt_status dopt__cuda_lqr_workspace_size(ptrdiff_t batch, int n, int m, int T_, size_t *bytes, dopt_errinfo *info)
{
    if (bytes) *bytes = 0;
    if (!bytes || batch < 0 || n < 1 || m < 1 || T_ < 1)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "batch < 0, n, m or T < 1, or bytes NULL");
    if (n + m > DOPT_CUDA_LQR_MAX_N)
        return dopt_errinfo_set(info, DOPT_ERR_UNSUPPORTED, -1, 0, "n + m > DOPT_CUDA_LQR_MAX_N");
    const double reals = (double)batch * (double)dopt_cuda_lqr_element_reals(n, m, T_);
    if (reals * sizeof(T) + DOPT__CUDA_LQR_WORK_OFFSET > (double)PTRDIFF_MAX / 2)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "workspace size overflows");
    *bytes = (size_t)batch * (size_t)dopt_cuda_lqr_element_reals(n, m, T_) * sizeof(T) + DOPT__CUDA_LQR_WORK_OFFSET;
    return dopt_errinfo_set(info, DOPT_OK, -1, 0, "");
}

template <typename T> static bool dopt__cuda_seq_ok(const T *p, ptrdiff_t ts, ptrdiff_t bs, bool required)
{
    return (p || !required) && ts >= 0 && bs >= 0;
}

/* Arguments common to the solve and the backward; the workspace checked and its key reset. */
template <typename T>
static dopt_status dopt__cuda_lqr_check(ptrdiff_t batch, int n, int m, int T_, const dopt_cuda_lqr_data<T> *d,
                                        void *work, size_t work_bytes, cudaStream_t stream, dopt_errinfo *info)
{
    size_t need = 0;
    dopt_status s = dopt__cuda_lqr_workspace_size<T>(batch, n, m, T_, &need, info);
    if (s != DOPT_OK) return s;
    if (!d || !dopt__cuda_seq_ok(d->C.p, d->C.ts, d->C.bs, true) || !dopt__cuda_seq_ok(d->c.p, d->c.ts, d->c.bs, true) ||
        !dopt__cuda_seq_ok(d->F.p, d->F.ts, d->F.bs, T_ > 1) || !dopt__cuda_seq_ok(d->f.p, d->f.ts, d->f.bs, false) ||
        !dopt__cuda_seq_ok(d->x_init.p, d->x_init.ts, d->x_init.bs, true))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "data: NULL array or negative stride");
    if (work_bytes < need) return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "workspace missing or too small");
    return dopt__cuda_key_reset(work, work_bytes, stream, info);
}

template <typename T>
__global__ void dopt__cuda_lqr_solve_kernel(ptrdiff_t batch, int n, int m, int T_, dopt_cuda_lqr_data<T> d,
                                            dopt_cuda_seq<T> tau, dopt_cuda_seq<T> lam, int *fail_t,
                                            dopt_status *status, unsigned char *work)
{
    extern __shared__ __align__(16) unsigned char dopt__cuda_smem[];
    dopt__cuda_block_exec ex = {(int)blockDim.x};
    dopt__cuda_lqr_smem<T> s = dopt__cuda_lqr_smem_of((T *)dopt__cuda_smem, n, m);
    T *elems = (T *)(work + DOPT__CUDA_LQR_WORK_OFFSET);
    for (ptrdiff_t b = blockIdx.x; b < batch; b += gridDim.x) {
        dopt__cuda_lqr_elem<T> e = dopt__cuda_lqr_elem_of(elems + b * dopt_cuda_lqr_element_reals(n, m, T_), n, m, T_);
        int ft = -1;
        dopt_status st = dopt__cuda_lqr_solve_element(ex, n, m, T_, d, b, tau, lam, e, s, &ft);
        if (threadIdx.x == 0) {
            if (fail_t) fail_t[b] = ft;
            if (status) status[b] = st;
            if (st != DOPT_OK) dopt__cuda_record_failure((dopt__cuda_key *)work, b, st == DOPT_ERR_NON_FINITE);
        }
        __syncthreads(); /* shared memory is reused by the next element */
    }
}

template <typename T>
__global__ void dopt__cuda_lqr_backward_kernel(ptrdiff_t batch, int n, int m, int T_, dopt_cuda_lqr_data<T> d,
                                               dopt_cuda_cseq<T> tau, dopt_cuda_cseq<T> lam, dopt_cuda_cseq<T> dtau,
                                               dopt_cuda_lqr_grad<T> g, dopt_status *status, unsigned char *work)
{
    extern __shared__ __align__(16) unsigned char dopt__cuda_smem[];
    dopt__cuda_block_exec ex = {(int)blockDim.x};
    dopt__cuda_lqr_smem<T> s = dopt__cuda_lqr_smem_of((T *)dopt__cuda_smem, n, m);
    T *elems = (T *)(work + DOPT__CUDA_LQR_WORK_OFFSET);
    for (ptrdiff_t b = blockIdx.x; b < batch; b += gridDim.x) {
        dopt__cuda_lqr_elem<T> e = dopt__cuda_lqr_elem_of(elems + b * dopt_cuda_lqr_element_reals(n, m, T_), n, m, T_);
        dopt_status st = dopt__cuda_lqr_backward_element(ex, n, m, T_, d, b, tau, lam, dtau, g, e, s);
        if (threadIdx.x == 0) {
            if (status) status[b] = st;
            if (st != DOPT_OK) dopt__cuda_record_failure((dopt__cuda_key *)work, b, true);
        }
        __syncthreads();
    }
}

template <typename T>
static dopt_status dopt__cuda_lqr_solve_batched(ptrdiff_t batch, int n, int m, int T_, const dopt_cuda_lqr_data<T> *d,
                                                dopt_cuda_seq<T> tau, dopt_cuda_seq<T> lam, int *fail_t,
                                                dopt_status *status, void *work, size_t work_bytes,
                                                cudaStream_t stream, dopt_errinfo *info)
{
    dopt_status s = dopt__cuda_lqr_check<T>(batch, n, m, T_, d, work, work_bytes, stream, info);
    if (s != DOPT_OK) return s;
    if (!dopt__cuda_seq_ok(tau.p, tau.ts, tau.bs, true) || !dopt__cuda_seq_ok(lam.p, lam.ts, lam.bs, false))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "tau NULL or negative stride");
    if (batch == 0) return dopt_errinfo_set(info, DOPT_OK, -1, 0, "");
    const size_t shmem = (size_t)dopt_cuda_lqr_shared_reals(n, m) * sizeof(T);
    dopt__cuda_lqr_solve_kernel<T><<<dopt__cuda_blocks(batch, 1), dopt__cuda_dense_threads(n + m), shmem, stream>>>(
        batch, n, m, T_, *d, tau, lam, fail_t, status, (unsigned char *)work);
    return dopt__cuda_key_status(work, DOPT_ERR_NOT_POSITIVE_DEFINITE, "Q_uu not positive definite (fail_t: the step)",
                                 stream, info);
}

template <typename T>
static dopt_status dopt__cuda_lqr_backward_batched(ptrdiff_t batch, int n, int m, int T_, const dopt_cuda_lqr_data<T> *d,
                                                   dopt_cuda_cseq<T> tau, dopt_cuda_cseq<T> lam, dopt_cuda_cseq<T> dtau,
                                                   const dopt_cuda_lqr_grad<T> *g, dopt_status *status, void *work,
                                                   size_t work_bytes, cudaStream_t stream, dopt_errinfo *info)
{
    dopt_status s = dopt__cuda_lqr_check<T>(batch, n, m, T_, d, work, work_bytes, stream, info);
    if (s != DOPT_OK) return s;
    const bool many = batch > 1;
    if (!g || !dopt__cuda_seq_ok(tau.p, tau.ts, tau.bs, true) || !dopt__cuda_seq_ok(lam.p, lam.ts, lam.bs, true) ||
        !dopt__cuda_seq_ok(dtau.p, dtau.ts, dtau.bs, true) ||
        (g->C.p && (g->C.ts < 0 || g->C.bs < many)) || (g->c.p && (g->c.ts < 0 || g->c.bs < many)) ||
        (g->F.p && (g->F.ts < 0 || g->F.bs < many)) || (g->f.p && (g->f.ts < 0 || g->f.bs < many)) ||
        (g->x_init.p && g->x_init.bs < many))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0,
                                "tau, lam, dtau or grad NULL, or a gradient shared across the batch (bs = 0)");
    if (batch == 0) return dopt_errinfo_set(info, DOPT_OK, -1, 0, "");
    const size_t shmem = (size_t)dopt_cuda_lqr_shared_reals(n, m) * sizeof(T);
    dopt__cuda_lqr_backward_kernel<T><<<dopt__cuda_blocks(batch, 1), dopt__cuda_dense_threads(n + m), shmem, stream>>>(
        batch, n, m, T_, *d, tau, lam, dtau, *g, status, (unsigned char *)work);
    return dopt__cuda_key_status(work, DOPT_ERR_NON_FINITE, "non-finite adjoint", stream, info);
}

#define DOPT__CUDA_DEF_LQR(T, S)                                                                                   \
    DOPT_API dopt_status dopt_cuda_lqr_workspace_size_##S(ptrdiff_t batch, int n, int m, int T_, size_t *bytes,      \
                                                         dopt_errinfo *info)                                       \
    {                                                                                                              \
        return dopt__cuda_lqr_workspace_size<T>(batch, n, m, T_, bytes, info);                                     \
    }                                                                                                              \
    DOPT_API dopt_status dopt_cuda_lqr_solve_batched_##S(ptrdiff_t batch, int n, int m, int T_,                     \
                                                        const dopt_cuda_lqr_data<T> *data, dopt_cuda_seq<T> tau,    \
                                                        dopt_cuda_seq<T> lam, int *fail_t, dopt_status *status,     \
                                                        void *work, size_t work_bytes, cudaStream_t stream,         \
                                                        dopt_errinfo *info)                                        \
    {                                                                                                              \
        return dopt__cuda_lqr_solve_batched<T>(batch, n, m, T_, data, tau, lam, fail_t, status, work, work_bytes,  \
                                               stream, info);                                                      \
    }                                                                                                              \
    DOPT_API dopt_status dopt_cuda_lqr_backward_batched_##S(                                                        \
        ptrdiff_t batch, int n, int m, int T_, const dopt_cuda_lqr_data<T> *data, dopt_cuda_cseq<T> tau,           \
        dopt_cuda_cseq<T> lam, dopt_cuda_cseq<T> dtau, const dopt_cuda_lqr_grad<T> *grad, dopt_status *status,     \
        void *work, size_t work_bytes, cudaStream_t stream, dopt_errinfo *info)                                    \
    {                                                                                                              \
        return dopt__cuda_lqr_backward_batched<T>(batch, n, m, T_, data, tau, lam, dtau, grad, status, work,       \
                                                  work_bytes, stream, info);                                       \
    }
DOPT__CUDA_DEF_LQR(float, f)
DOPT__CUDA_DEF_LQR(double, d)
/* ---- pose-graph normal equations ------------------------------------------------------------------ */

/* Zero `len` reals of each of `batch` strided blocks: entry k of the grid is block k / len. */
template <typename T> struct dopt__cuda_zero_op {
    T *p;
    ptrdiff_t len, stride;
    __device__ void operator()(ptrdiff_t k) const { p[(k / len) * stride + k % len] = 0; }
};
template <typename T>
static dopt_status dopt__cuda_zero(ptrdiff_t batch, T *p, ptrdiff_t len, ptrdiff_t stride, cudaStream_t stream,
                                   dopt_errinfo *info)
{
    if (!p || batch * len == 0) return DOPT_OK;
    dopt__cuda_zero_op<T> op = {p, len, stride};
    dopt__cuda_each_kernel<<<dopt__cuda_blocks(batch * len, DOPT__CUDA_THREADS), DOPT__CUDA_THREADS, 0, stream>>>(
        batch * len, op);
    return dopt__cuda_launched(info);
}

template <typename T>
static dopt_status dopt__cuda_se3_graph_normal(ptrdiff_t batch, ptrdiff_t n_poses, ptrdiff_t n_edges, const int *ij,
                                               const int *slot, ptrdiff_t n_blocks, const T *poses, ptrdiff_t sp,
                                               const T *meas, ptrdiff_t sm, const T *sqrt_info, ptrdiff_t si, T *H,
                                               ptrdiff_t sH, T *g, ptrdiff_t sg, T *cost, cudaStream_t stream,
                                               dopt_errinfo *info)
{
    const bool many = batch > 1;
    if (batch < 0 || n_poses < 0 || n_edges < 0 || n_blocks < (slot ? 0 : n_poses + n_edges) ||
        (batch > 0 && (!poses || !H || !g || (n_edges > 0 && (!ij || !meas)))) || (many && sp < 7 * n_poses) ||
        sm < 0 || (sm > 0 && sm < 7 * n_edges) || (sqrt_info && si < 0) || (many && sH < 36 * n_blocks) ||
        (many && sg < 6 * n_poses))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bad count, NULL array or stride too small");
    dopt_status s = dopt__cuda_zero(batch, H, 36 * n_blocks, sH, stream, info);
    if (s == DOPT_OK) s = dopt__cuda_zero(batch, g, 6 * n_poses, sg, stream, info);
    if (s == DOPT_OK) s = dopt__cuda_zero(batch, cost, (ptrdiff_t)1, (ptrdiff_t)1, stream, info);
    if (s != DOPT_OK || batch * n_edges == 0) return s == DOPT_OK ? dopt_errinfo_set(info, DOPT_OK, -1, 0, "") : s;
    dopt_cuda_se3_graph_normal_op<T> op = {n_poses, n_edges, ij, slot, poses, sp, meas, sm, sqrt_info, si, H, sH, g, sg, cost};
    dopt__cuda_each_kernel<<<dopt__cuda_blocks(batch * n_edges, DOPT__CUDA_THREADS), DOPT__CUDA_THREADS, 0, stream>>>(
        batch * n_edges, op);
    return dopt__cuda_launched(info);
}
#define DOPT__CUDA_DEF_GRAPH(T, S)                                                                               \
    DOPT_API dopt_status dopt_cuda_se3_graph_normal_batched_##S(                                                   \
        ptrdiff_t batch, ptrdiff_t n_poses, ptrdiff_t n_edges, const int *ij, const int *slot, ptrdiff_t n_blocks, \
        const T *poses, ptrdiff_t sp, const T *meas, ptrdiff_t sm, const T *sqrt_info, ptrdiff_t si, T *H,         \
        ptrdiff_t sH, T *g, ptrdiff_t sg, T *cost, cudaStream_t stream, dopt_errinfo *info)                       \
    {                                                                                                            \
        return dopt__cuda_se3_graph_normal<T>(batch, n_poses, n_edges, ij, slot, n_blocks, poses, sp, meas, sm,   \
                                              sqrt_info, si, H, sH, g, sg, cost, stream, info);                  \
    }
DOPT__CUDA_DEF_GRAPH(float, f)
DOPT__CUDA_DEF_GRAPH(double, d)
template <typename T>
static dopt_status dopt__cuda_se3_graph_dense(ptrdiff_t batch, ptrdiff_t n_poses, ptrdiff_t n_edges, const int *ij,
                                              const T *H, ptrdiff_t sH, T lambda, T *A, ptrdiff_t sA,
                                              cudaStream_t stream, dopt_errinfo *info)
{
    const ptrdiff_t n = 6 * n_poses, nb = n_poses + n_edges;
    if (batch < 0 || n_poses < 0 || n_edges < 0 || !(lambda >= 0) || !dopt__cuda_finite(lambda) ||
        (batch > 0 && nb > 0 && (!H || !A || (n_edges > 0 && !ij))) || (batch > 1 && (sH < 36 * nb || sA < n * n)))
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "bad count, lambda, NULL array or stride");
    dopt_status s = dopt__cuda_zero(batch, A, n * n, sA, stream, info);
    if (s != DOPT_OK || batch * nb == 0) return s == DOPT_OK ? dopt_errinfo_set(info, DOPT_OK, -1, 0, "") : s;
    dopt_cuda_se3_graph_dense_op<T> op = {n_poses, n_edges, ij, H, sH, lambda, A, sA};
    dopt__cuda_each_kernel<<<dopt__cuda_blocks(batch * nb * 36, DOPT__CUDA_THREADS), DOPT__CUDA_THREADS, 0, stream>>>(
        batch * nb * 36, op);
    return dopt__cuda_launched(info);
}
template <typename T>
static dopt_status dopt__cuda_se3_retract(ptrdiff_t n, T *x, ptrdiff_t sx, const T *delta, ptrdiff_t sd,
                                          cudaStream_t stream, dopt_errinfo *info)
{
    if (n < 0 || (n > 0 && (!x || !delta)) || sx < 7 || sd < 6)
        return dopt_errinfo_set(info, DOPT_ERR_INVALID_ARGUMENT, -1, 0, "n < 0, NULL array or stride too small");
    if (n == 0) return dopt_errinfo_set(info, DOPT_OK, -1, 0, "");
    dopt_cuda_se3_retract_op<T> op = {x, sx, delta, sd};
    dopt__cuda_each_kernel<<<dopt__cuda_blocks(n, DOPT__CUDA_THREADS), DOPT__CUDA_THREADS, 0, stream>>>(n, op);
    return dopt__cuda_launched(info);
}
#define DOPT__CUDA_DEF_GRAPH_DENSE(T, S)                                                                         \
    DOPT_API dopt_status dopt_cuda_se3_graph_dense_batched_##S(ptrdiff_t batch, ptrdiff_t n_poses, ptrdiff_t n_edges, \
                                                              const int *ij, const T *H, ptrdiff_t sH, T lambda,  \
                                                              T *A, ptrdiff_t sA, cudaStream_t stream,            \
                                                              dopt_errinfo *info)                                 \
    {                                                                                                            \
        return dopt__cuda_se3_graph_dense<T>(batch, n_poses, n_edges, ij, H, sH, lambda, A, sA, stream, info);   \
    }                                                                                                            \
    DOPT_API dopt_status dopt_cuda_se3_retract_batched_##S(ptrdiff_t n, T *x, ptrdiff_t sx, const T *delta,         \
                                                          ptrdiff_t sd, cudaStream_t stream, dopt_errinfo *info)  \
    {                                                                                                            \
        return dopt__cuda_se3_retract<T>(n, x, sx, delta, sd, stream, info);                                     \
    }
DOPT__CUDA_DEF_GRAPH_DENSE(float, f)
DOPT__CUDA_DEF_GRAPH_DENSE(double, d)
#endif /* __CUDACC__ && DOPT_IMPLEMENTATION */
