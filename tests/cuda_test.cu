// tests/cuda_test.cu — `make test-cuda`: every dopt_cuda.cuh kernel on the GPU against the CPU
// implementation (dopt_lie.h's batch functions, dopt.h's potrf/potrs, the host builds of the
// Anderson step and of CEM that tests/test_cuda_host.cpp checks independently), double 1e-12
// and float 1e-5 relative (floor 1), plus the host API's argument and failure reporting.
// Without a CUDA device it prints a SKIP line and `0 passed, 0 failed, 1 skipped` and exits 0.
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_lie.h"
#include "dopt_cuda.cuh"
#include "tests/dopt_test.h"
#include "tests/cuda_cases.h"

// ---- device buffers --------------------------------------------------------------------------------
template <typename T> struct dbuf {
    T *p = nullptr;
    size_t n = 0;
    explicit dbuf(const std::vector<T> &h) : n(h.size())
    {
        if (cudaMalloc(&p, n * sizeof(T) + 1) == cudaSuccess && n) cudaMemcpy(p, h.data(), n * sizeof(T), cudaMemcpyHostToDevice);
    }
    explicit dbuf(size_t count) : n(count) { if (cudaMalloc(&p, n * sizeof(T) + 1) == cudaSuccess) cudaMemset(p, 0, n * sizeof(T)); }
    ~dbuf() { cudaFree(p); }
    dbuf(const dbuf &) = delete;
    dbuf &operator=(const dbuf &) = delete;
    std::vector<T> get() const
    {
        std::vector<T> h(n);
        if (n) cudaMemcpy(h.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost);
        return h;
    }
};
template <typename T> static const char *pname() { return sizeof(T) == 4 ? "float" : "double"; }

// ---- the GPU entry points, overloaded on the real type ---------------------------------------------
#define GPU_UNARY(name)                                                                                \
    static dopt_status gpu_##name(ptrdiff_t n, const float *x, ptrdiff_t sx, float *y, ptrdiff_t sy, float *J) \
    { return dopt_cuda_##name##_batch_f(n, x, sx, y, sy, J, 0, NULL); }                                 \
    static dopt_status gpu_##name(ptrdiff_t n, const double *x, ptrdiff_t sx, double *y, ptrdiff_t sy, double *J) \
    { return dopt_cuda_##name##_batch_d(n, x, sx, y, sy, J, 0, NULL); }
#define GPU_BINARY(name)                                                                               \
    static dopt_status gpu_##name(ptrdiff_t n, const float *a, ptrdiff_t sa, const float *b, ptrdiff_t sb, float *c, \
                                  ptrdiff_t sc, float *Ja, float *Jb)                                   \
    { return dopt_cuda_##name##_batch_f(n, a, sa, b, sb, c, sc, Ja, Jb, 0, NULL); }                     \
    static dopt_status gpu_##name(ptrdiff_t n, const double *a, ptrdiff_t sa, const double *b, ptrdiff_t sb, \
                                  double *c, ptrdiff_t sc, double *Ja, double *Jb)                      \
    { return dopt_cuda_##name##_batch_d(n, a, sa, b, sb, c, sc, Ja, Jb, 0, NULL); }
GPU_UNARY(so3_exp)
GPU_UNARY(so3_log)
GPU_UNARY(se3_exp)
GPU_UNARY(se3_log)
GPU_BINARY(so3_compose)
GPU_BINARY(so3_act)
GPU_BINARY(se3_compose)
GPU_BINARY(se3_between)
GPU_BINARY(se3_act)
#define GPU_DENSE(T, S)                                                                                \
    static dopt_status gpu_potrf(ptrdiff_t b, int n, T *A, int lda, ptrdiff_t sA, int *fc, void *w, size_t wb, dopt_errinfo *e) \
    { return dopt_cuda_potrf_batched_##S(b, n, A, lda, sA, fc, w, wb, 0, e); }                            \
    static dopt_status gpu_potrs(ptrdiff_t b, int n, int r, const T *L, int ldl, ptrdiff_t sL, T *B, int ldb, ptrdiff_t sB) \
    { return dopt_cuda_potrs_batched_##S(b, n, r, L, ldl, sL, B, ldb, sB, 0, NULL); }                     \
    static dopt_status gpu_anderson(ptrdiff_t b, int d, int m, const T *X, ptrdiff_t sX, const T *G, T *xn, \
                                    const dopt_cuda_anderson_options *o, dopt_status *st, void *w, size_t wb, dopt_errinfo *e) \
    { return dopt_cuda_anderson_batched_##S(b, d, m, X, d, sX, G, d, sX, xn, d, o, st, w, wb, 0, e); }
GPU_DENSE(float, f)
GPU_DENSE(double, d)
#define GPU_CEM(T, S)                                                                                  \
    static dopt_status dopt_cuda_cem_sample_batched(ptrdiff_t b, int d, int K, const T *m, ptrdiff_t sM, const T *s, \
                                                    ptrdiff_t sS, unsigned long long seed, unsigned long long it, T *X, ptrdiff_t sX) \
    { return dopt_cuda_cem_sample_batched_##S(b, d, K, m, sM, s, sS, seed, it, X, sX, 0, NULL); }          \
    static dopt_status dopt_cuda_cem_update_batched(ptrdiff_t b, int d, int K, int E, const T *X, ptrdiff_t sX, const T *c, \
                                                    ptrdiff_t sC, T *m, ptrdiff_t sM, T *s, ptrdiff_t sS,  \
                                                    const dopt_cuda_cem_options *o, dopt_status *st, void *w, size_t wb, dopt_errinfo *e) \
    { return dopt_cuda_cem_update_batched_##S(b, d, K, E, X, sX, c, sC, m, sM, s, sS, o, st, w, wb, 0, e); }
GPU_CEM(float, f)
GPU_CEM(double, d)

static const long N = 5000; // edge angles first, then random; several blocks

template <typename T, typename Gpu, typename Cpu>
static void check_unary(const char *what, cases_kind in, int osize, int jsize, Gpu gpu, Cpu cpu)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 17, 1);
    const long sx = cases_size(in) + 1, sy = osize + 2;
    std::vector<T> x = cases_batch<T>(&rng, in, N, sx), yr((size_t)(N * sy), 0), Jr((size_t)(N * jsize), 0);
    dbuf<T> dx(x), dy(yr.size()), dJ(Jr.size());
    for (int with_j = 0; with_j < 2; ++with_j) {
        dopt_status s = gpu(N, dx.p, sx, dy.p, sy, with_j ? dJ.p : (T *)0);
        cudaError_t e = cudaDeviceSynchronize();
        cpu(N, x.data(), sx, yr.data(), sy, with_j ? Jr.data() : (T *)0);
        std::vector<T> y = dy.get(), J = dJ.get();
        for (long k = 0; k < N; ++k) // the pad entries between elements stay untouched (0)
            for (long i = osize; i < sy; ++i) yr[(size_t)(k * sy + i)] = 0;
        double ev = cases_err(y.size(), y.data(), yr.data()), ej = with_j ? cases_err(J.size(), J.data(), Jr.data()) : 0;
        DOPT_CHECK(s == DOPT_OK && e == cudaSuccess, "%s (%s): status %d, cuda %s", what, pname<T>(), (int)s, cudaGetErrorString(e));
        DOPT_CHECK(ev <= cases_tol<T>() && ej <= cases_tol<T>(), "%s (%s, J %d): errors %g %g", what, pname<T>(), with_j, ev, ej);
    }
}

template <typename T, typename Gpu, typename Cpu>
static void check_binary(const char *what, cases_kind ka, cases_kind kb, int osize, int jas, int jbs, Gpu gpu, Cpu cpu)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 19, 2);
    const long sa = cases_size(ka), sb = cases_size(kb) + 2, sc = osize + 1;
    std::vector<T> a = cases_batch<T>(&rng, ka, N, sa), b = cases_batch<T>(&rng, kb, N, sb);
    std::vector<T> cr((size_t)(N * sc), 0), Jar((size_t)(N * jas), 0), Jbr((size_t)(N * jbs), 0);
    dbuf<T> da(a), db(b), dc(cr.size()), dJa(Jar.size()), dJb(Jbr.size());
    for (int with_j = 0; with_j < 2; ++with_j) {
        dopt_status s = gpu(N, da.p, sa, db.p, sb, dc.p, sc, with_j ? dJa.p : (T *)0, with_j ? dJb.p : (T *)0);
        cudaError_t e = cudaDeviceSynchronize();
        cpu(N, a.data(), sa, b.data(), sb, cr.data(), sc, with_j ? Jar.data() : (T *)0, with_j ? Jbr.data() : (T *)0);
        for (long k = 0; k < N; ++k)
            for (long i = osize; i < sc; ++i) cr[(size_t)(k * sc + i)] = 0;
        std::vector<T> c = dc.get(), Ja = dJa.get(), Jb = dJb.get();
        double ev = cases_err(c.size(), c.data(), cr.data());
        double ej = with_j ? cases_err(Ja.size(), Ja.data(), Jar.data()) + cases_err(Jb.size(), Jb.data(), Jbr.data()) : 0;
        DOPT_CHECK(s == DOPT_OK && e == cudaSuccess, "%s (%s): status %d, cuda %s", what, pname<T>(), (int)s, cudaGetErrorString(e));
        DOPT_CHECK(ev <= cases_tol<T>() && ej <= cases_tol<T>(), "%s (%s, J %d): errors %g %g", what, pname<T>(), with_j, ev, ej);
    }
}

#define LIE_U(name) [](ptrdiff_t n, const T *x, ptrdiff_t sx, T *y, ptrdiff_t sy, T *J) { return gpu_##name(n, x, sx, y, sy, J); }, \
                [](long n, const T *x, long sx, T *y, long sy, T *J) { cpu_##name(n, x, sx, y, sy, J); }
#define LIE_B(name) [](ptrdiff_t n, const T *a, ptrdiff_t sa, const T *b, ptrdiff_t sb, T *c, ptrdiff_t sc, T *Ja, T *Jb) { return gpu_##name(n, a, sa, b, sb, c, sc, Ja, Jb); }, \
                [](long n, const T *a, long sa, const T *b, long sb, T *c, long sc, T *Ja, T *Jb) { cpu_##name(n, a, sa, b, sb, c, sc, Ja, Jb); }
template <typename T> static void lie_gpu_vs_cpu(void)
{
    check_unary<T>("so3_exp", CASES_SO3_TANGENT, 4, 9, LIE_U(so3_exp));
    check_unary<T>("so3_log", CASES_SO3, 3, 9, LIE_U(so3_log));
    check_unary<T>("se3_exp", CASES_SE3_TANGENT, 7, 36, LIE_U(se3_exp));
    check_unary<T>("se3_log", CASES_SE3, 6, 36, LIE_U(se3_log));
    check_binary<T>("so3_compose", CASES_SO3, CASES_SO3, 4, 9, 9, LIE_B(so3_compose));
    check_binary<T>("so3_act", CASES_SO3, CASES_POINT, 3, 9, 9, LIE_B(so3_act));
    check_binary<T>("se3_compose", CASES_SE3, CASES_SE3, 7, 36, 36, LIE_B(se3_compose));
    check_binary<T>("se3_between", CASES_SE3, CASES_SE3, 7, 36, 36, LIE_B(se3_between));
    check_binary<T>("se3_act", CASES_SE3, CASES_POINT, 3, 18, 9, LIE_B(se3_act));
}
#undef LIE_U
#undef LIE_B
static void test_lie_gpu_double(void) { lie_gpu_vs_cpu<double>(); }
static void test_lie_gpu_float(void) { lie_gpu_vs_cpu<float>(); }

template <typename T> static void potrf_gpu_vs_cpu(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 23, 3);
    const int sizes[] = {1, 3, 8, 17, 33, 64};
    const ptrdiff_t batch = 37;
    size_t wb = dopt_cuda_potrf_batched_workspace_size(batch);
    dbuf<unsigned char> work(wb);
    for (int si = 0; si < 6; ++si) {
        const int n = sizes[si], lda = n + 1, nrhs = 2, ldb = n + 2;
        const ptrdiff_t sA = (ptrdiff_t)lda * n + 5, sB = (ptrdiff_t)ldb * nrhs + 3;
        std::vector<T> A((size_t)(batch * sA), (T)555), B((size_t)(batch * sB), 0), one((size_t)n * n);
        for (ptrdiff_t b = 0; b < batch; ++b) {
            cases_spd(&rng, n, one.data());
            for (int j = 0; j < n; ++j)
                for (int i = 0; i < n; ++i) A[(size_t)(b * sA + i + j * lda)] = one[(size_t)(i + j * n)];
            for (int r = 0; r < nrhs; ++r)
                for (int i = 0; i < n; ++i) B[(size_t)(b * sB + i + r * ldb)] = (T)dopt_rng_normal_d(&rng);
        }
        const int bad_col = n > 2 ? 2 : 0;
        A[(size_t)(5 * sA + bad_col + bad_col * lda)] = -1000; // element 5: indefinite at bad_col
        A[(size_t)(9 * sA + (n - 1) + (n - 1) * lda)] = (T)NAN; // element 9: NaN pivot
        dbuf<T> dA(A), dB(B);
        dbuf<int> dfail((size_t)batch);
        dopt_errinfo info;
        dopt_status s = gpu_potrf(batch, n, dA.p, lda, sA, dfail.p, work.p, wb, &info);
        std::vector<int> fail = dfail.get();
        DOPT_CHECK(s == DOPT_ERR_NOT_POSITIVE_DEFINITE && info.index == 5, "potrf n=%d (%s): status %d index %ld", n,
                   pname<T>(), (int)s, info.index);
        DOPT_CHECK(fail[5] == bad_col && fail[9] >= 0 && fail[9] <= n - 1 && fail[0] == -1 && fail[36] == -1,
                   "potrf n=%d fail_col: %d %d %d", n, fail[5], fail[9], fail[0]);
        s = gpu_potrs(batch, n, nrhs, dA.p, lda, sA, dB.p, ldb, sB);
        cudaError_t ce = cudaDeviceSynchronize();
        DOPT_CHECK(s == DOPT_OK && ce == cudaSuccess, "potrs n=%d: status %d", n, (int)s);
        std::vector<T> L = dA.get(), X = dB.get();
        double eL = 0, eX = 0;
        for (ptrdiff_t b = 0; b < batch; ++b) {
            if (b == 5 || b == 9) continue;
            std::vector<T> Ar(A.begin() + b * sA, A.begin() + b * sA + (ptrdiff_t)lda * n);
            std::vector<T> Br(B.begin() + b * sB, B.begin() + b * sB + (ptrdiff_t)ldb * nrhs);
            int col;
            cpu_potrf(n, Ar.data(), lda, &col);
            cpu_potrs(n, nrhs, Ar.data(), lda, Br.data(), ldb);
            for (int j = 0; j < n; ++j)
                for (int i = 0; i < n; ++i) {
                    T g = L[(size_t)(b * sA + i + j * lda)], r = Ar[(size_t)(i + j * lda)];
                    double e = cases_err(1, &g, &r);
                    if (e > eL) eL = e;
                }
            double e = cases_err(Br.size(), X.data() + b * sB, Br.data());
            if (e > eX) eX = e;
        }
        DOPT_CHECK(eL <= cases_tol<T>() && eX <= 10 * cases_tol<T>(), "potrf/potrs n=%d (%s): errors %g %g", n,
                   pname<T>(), eL, eX);
        DOPT_CHECK(L[(size_t)(sA - 1)] == (T)555, "potrf wrote outside the matrix");
    }
    // argument errors
    dopt_errinfo info;
    DOPT_CHECK(gpu_potrf(-1, 3, (T *)0, 3, 9, NULL, work.p, wb, &info) == DOPT_ERR_INVALID_ARGUMENT, "batch < 0");
    DOPT_CHECK(gpu_potrf(1, 65, (T *)work.p, 65, 0, NULL, work.p, wb, &info) == DOPT_ERR_UNSUPPORTED, "n > 64");
    DOPT_CHECK(gpu_potrf(1, 2, (T *)work.p, 2, 4, NULL, work.p, 1, &info) == DOPT_ERR_ALLOCATION, "small workspace");
    DOPT_CHECK(gpu_potrf(0, 2, (T *)0, 2, 4, NULL, work.p, wb, &info) == DOPT_OK, "empty batch");
}
static void test_potrf_gpu_double(void) { potrf_gpu_vs_cpu<double>(); }
static void test_potrf_gpu_float(void) { potrf_gpu_vs_cpu<float>(); }

template <typename T> static void anderson_gpu_vs_host(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 29, 4);
    const int ds[] = {64, 129, 300}, ms[] = {1, 5, 16}; // d >= 4m: well-conditioned histories
    const ptrdiff_t batch = 21;
    size_t wb = dopt_cuda_potrf_batched_workspace_size(batch);
    dbuf<unsigned char> work(wb);
    for (int di = 0; di < 3; ++di)
        for (int mi = 0; mi < 3; ++mi) {
            const int d = ds[di], m = ms[mi];
            const ptrdiff_t sX = (ptrdiff_t)d * m;
            std::vector<T> X((size_t)(batch * sX)), G(X.size()), ref((size_t)(batch * d)), w((size_t)(m * m + m));
            for (size_t i = 0; i < X.size(); ++i) {
                X[i] = (T)dopt_rng_normal_d(&rng);
                G[i] = X[i] + (T)dopt_rng_normal_d(&rng);
            }
            if (m > 1) // element 4: a zero residual column, singular with lambda off
                for (int t = 0; t < d; ++t) G[(size_t)(4 * sX + t + d)] = X[(size_t)(4 * sX + t + d)];
            for (int off = 0; off < 2; ++off) {
                dopt_cuda_anderson_options o = {off ? (double)DOPT_OFF : 0, 0.8};
                T lam, beta;
                dopt__cuda_anderson_resolve(&o, &lam, &beta);
                bool expect_fail = off && m > 1;
                for (ptrdiff_t b = 0; b < batch; ++b)
                    dopt_cuda_anderson_one(d, m, X.data() + b * sX, d, G.data() + b * sX, d, lam, beta, ref.data() + b * d, w.data());
                dbuf<T> dX(X), dG(G), dN(ref.size());
                dbuf<dopt_status> dst((size_t)batch);
                dopt_errinfo info;
                dopt_status s = gpu_anderson(batch, d, m, dX.p, sX, dG.p, dN.p, &o, dst.p, work.p, wb, &info);
                std::vector<T> xn = dN.get();
                std::vector<dopt_status> st = dst.get();
                {
                    double e = 0;
                    for (ptrdiff_t b = 0; b < batch; ++b) {
                        if (st[(size_t)b] != DOPT_OK) continue;
                        double eb = cases_err((size_t)d, xn.data() + b * d, ref.data() + b * d);
                        if (eb > e) e = eb;
                    }
                    DOPT_CHECK(e <= 100 * cases_tol<T>(), "anderson d=%d m=%d off=%d (%s): error %g", d, m, off, pname<T>(), e);
                }
                if (expect_fail)
                    DOPT_CHECK(s == DOPT_ERR_NOT_POSITIVE_DEFINITE && info.index == 4 && st[4] == s && st[0] == DOPT_OK,
                               "anderson singular element: status %d index %ld", (int)s, info.index);
                else if (!off)
                    DOPT_CHECK(s == DOPT_OK && st[4] == DOPT_OK, "anderson d=%d m=%d: status %d", d, m, (int)s);
            }
        }
    dopt_cuda_anderson_options bad = {0, 2};
    DOPT_CHECK(gpu_anderson(1, 3, 2, (T *)work.p, 6, (T *)work.p, (T *)work.p, &bad, NULL, work.p, wb, NULL) ==
                   DOPT_ERR_INVALID_ARGUMENT, "beta > 1 rejected");
    DOPT_CHECK(gpu_anderson(1, 3, 17, (T *)work.p, 51, (T *)work.p, (T *)work.p, NULL, NULL, work.p, wb, NULL) ==
                   DOPT_ERR_UNSUPPORTED, "m > 16");
}
static void test_anderson_gpu_double(void) { anderson_gpu_vs_host<double>(); }
static void test_anderson_gpu_float(void) { anderson_gpu_vs_host<float>(); }


template <typename T> static void cem_gpu_vs_host(void)
{
    const ptrdiff_t batch = 13;
    const int d = 7, K = 300, E = 17;
    const ptrdiff_t sX = (ptrdiff_t)d * K + 3, sC = K + 1, sM = d + 2;
    dopt_rng rng;
    dopt_rng_seed(&rng, 31, 5);
    std::vector<T> mean((size_t)(batch * sM)), sd(mean.size()), cost((size_t)(batch * sC)), X((size_t)(batch * sX), 0);
    for (size_t i = 0; i < mean.size(); ++i) { mean[i] = (T)dopt_rng_normal_d(&rng); sd[i] = (T)(0.5 + dopt_rng_uniform_d(&rng)); }
    for (size_t i = 0; i < cost.size(); ++i) cost[i] = (T)dopt_rng_normal_d(&rng);
    cost[(size_t)(3 * sC + 5)] = cost[(size_t)(3 * sC + 6)]; // a tie
    for (int k = 0; k < K - 5; ++k) cost[(size_t)(8 * sC + k)] = (T)NAN; // element 8: too few finite costs
    dbuf<T> dmean(mean), dsd(sd), dcost(cost), dX(X);
    dopt_status s = dopt_cuda_cem_sample_batched(batch, d, K, dmean.p, sM, dsd.p, sM, 99, 4, dX.p, sX);
    cudaError_t ce = cudaDeviceSynchronize();
    std::vector<T> Xg = dX.get(), Xh = X;
    for (ptrdiff_t b = 0; b < batch; ++b)
        dopt_cuda_cem_sample_one(d, K, mean.data() + b * sM, sd.data() + b * sM, 99, 4, b, Xh.data() + b * sX);
    double e = cases_err(Xg.size(), Xg.data(), Xh.data());
    DOPT_CHECK(s == DOPT_OK && ce == cudaSuccess && e <= cases_tol<T>(), "CEM sample (%s): status %d error %g", pname<T>(), (int)s, e);
    size_t wb = dopt_cuda_potrf_batched_workspace_size(batch);
    dbuf<unsigned char> work(wb);
    dbuf<dopt_status> dst((size_t)batch);
    dopt_cuda_cem_options o = {0.7, 0.01};
    dopt_errinfo info;
    s = dopt_cuda_cem_update_batched(batch, d, K, E, dX.p, sX, dcost.p, sC, dmean.p, sM, dsd.p, sM, &o, dst.p, work.p, wb, &info);
    std::vector<T> mg = dmean.get(), sg = dsd.get();
    std::vector<dopt_status> st = dst.get();
    std::vector<int> elite((size_t)K);
    T alpha, min_std;
    dopt__cuda_cem_resolve(&o, &alpha, &min_std);
    bool st_ok = true;
    for (ptrdiff_t b = 0; b < batch; ++b) {
        dopt_status sh = dopt_cuda_cem_update_one(d, K, E, Xh.data() + b * sX, cost.data() + b * sC, alpha, min_std,
                                                  mean.data() + b * sM, sd.data() + b * sM, elite.data());
        st_ok = st_ok && sh == st[(size_t)b] && (b == 8) == (sh != DOPT_OK);
    }
    double em = cases_err(mg.size(), mg.data(), mean.data()), es = cases_err(sg.size(), sg.data(), sd.data());
    DOPT_CHECK(s == DOPT_ERR_NON_FINITE && info.index == 8 && st_ok, "CEM update statuses: %d index %ld", (int)s, info.index);
    DOPT_CHECK(em <= 10 * cases_tol<T>() && es <= 10 * cases_tol<T>(), "CEM update (%s): errors %g %g", pname<T>(), em, es);
}
static void test_cem_gpu_double(void) { cem_gpu_vs_host<double>(); }
static void test_cem_gpu_float(void) { cem_gpu_vs_host<float>(); }

// ---- batched LQR: the kernels against the host lockstep emulation (checked against dopt_mpc.h) --------
#define GPU_LQR(T, S)                                                                                  \
    static dopt_status gpu_lqr_ws(ptrdiff_t b, int n, int m, int T_, size_t *bytes, T *)                 \
    { return dopt_cuda_lqr_workspace_size_##S(b, n, m, T_, bytes, NULL); }                              \
    static dopt_status gpu_lqr_solve(ptrdiff_t b, int n, int m, int T_, const dopt_cuda_lqr_data<T> *d,   \
                                     dopt_cuda_seq<T> tau, dopt_cuda_seq<T> lam, int *ft, dopt_status *st, \
                                     void *w, size_t wb, dopt_errinfo *e)                                \
    { return dopt_cuda_lqr_solve_batched_##S(b, n, m, T_, d, tau, lam, ft, st, w, wb, 0, e); }            \
    static dopt_status gpu_lqr_backward(ptrdiff_t b, int n, int m, int T_, const dopt_cuda_lqr_data<T> *d, \
                                        dopt_cuda_cseq<T> tau, dopt_cuda_cseq<T> lam, dopt_cuda_cseq<T> dt, \
                                        const dopt_cuda_lqr_grad<T> *g, void *w, size_t wb, dopt_errinfo *e) \
    { return dopt_cuda_lqr_backward_batched_##S(b, n, m, T_, d, tau, lam, dt, g, NULL, w, wb, 0, e); }
GPU_LQR(float, f)
GPU_LQR(double, d)

template <typename T> static dopt_cuda_lqr_data<T> lqr_on(const dopt_cuda_lqr_data<T> &h, const dbuf<T> &C, const dbuf<T> &c,
                                                          const dbuf<T> &F, const dbuf<T> &f, const dbuf<T> &x0)
{
    dopt_cuda_lqr_data<T> d = h;
    d.C.p = C.p; d.c.p = c.p; d.F.p = F.p; d.f.p = f.p; d.x_init.p = x0.p;
    return d;
}

template <typename T> static void lqr_gpu_vs_host(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 31, 2);
    const int sizes[][3] = {{3, 2, 7}, {4, 2, 20}, {12, 6, 15}, {20, 12, 5}};
    for (auto &sz : sizes) {
        const int n = sz[0], m = sz[1], T_ = sz[2], NN = n + m;
        const ptrdiff_t B = 37;
        lqr_case<T> k = make_lqr_case<T>(&rng, n, m, T_, B);
        for (int i = 0; i < m; ++i) k.C[(size_t)((5 * T_ + T_ / 2) * NN * NN + (n + i) * (NN + 1))] = T(-1e4); // element 5 fails
        dopt_cuda_lqr_data<T> h = k.data();
        const size_t ntau = (size_t)(B * T_ * NN), nlam = (size_t)(B * T_ * n);
        std::vector<T> dtau(ntau), tau(ntau), lam(nlam), work((size_t)(B * dopt_cuda_lqr_element_reals(n, m, T_)));
        std::vector<T> smem((size_t)dopt_cuda_lqr_shared_reals(n, m));
        for (auto &v : dtau) v = (T)dopt_rng_normal_d(&rng);
        dopt_cuda_seq<T> ta = {tau.data(), NN, (ptrdiff_t)T_ * NN}, la = {lam.data(), n, (ptrdiff_t)T_ * n};
        std::vector<int> ft((size_t)B);
        std::vector<dopt_status> st((size_t)B);
        ptrdiff_t first;
        dopt_status hs = dopt_cuda_emulate_lqr_solve(B, n, m, T_, h, ta, la, ft.data(), st.data(), work.data(), smem.data(), 32,
                                                     false, &first);
        std::vector<T> gC(k.C.size()), gc(k.c.size()), gF(k.F.size()), gf(k.f.size()), gx(k.x0.size());
        dopt_cuda_lqr_grad<T> g = {{gC.data(), (ptrdiff_t)NN * NN, (ptrdiff_t)T_ * NN * NN}, {gc.data(), NN, (ptrdiff_t)T_ * NN},
                                   {gF.data(), (ptrdiff_t)n * NN, (ptrdiff_t)(T_ - 1) * n * NN},
                                   {gf.data(), n, (ptrdiff_t)(T_ - 1) * n}, {gx.data(), 0, n}};
        dopt_cuda_cseq<T> dth = {dtau.data(), NN, (ptrdiff_t)T_ * NN};
        // the host backward on the elements that solved (element 5's factors are partial)
        dopt_cuda_emulate_lqr_backward(B, n, m, T_, h, dopt__cuda_const(ta), dopt__cuda_const(la), dth, g, work.data(),
                                       smem.data(), 32, false);
        // the GPU
        dbuf<T> C(k.C), c(k.c), F(k.F), f(k.f), x0(k.x0), dT(ntau), dL(nlam), dD(dtau), GC(gC.size()), Gc(gc.size()),
            GF(gF.size()), Gf(gf.size()), Gx(gx.size());
        dopt_cuda_lqr_data<T> d = lqr_on(h, C, c, F, f, x0);
        size_t wb = 0;
        DOPT_CHECK(gpu_lqr_ws(B, n, m, T_, &wb, (T *)0) == DOPT_OK, "lqr workspace size");
        dbuf<unsigned char> w(wb);
        dbuf<int> dft((size_t)B);
        dbuf<dopt_status> dst((size_t)B);
        dopt_cuda_seq<T> gta = {dT.p, NN, (ptrdiff_t)T_ * NN}, gla = {dL.p, n, (ptrdiff_t)T_ * n};
        dopt_errinfo info;
        dopt_status s = gpu_lqr_solve(B, n, m, T_, &d, gta, gla, dft.p, dst.p, w.p, wb, &info);
        DOPT_CHECK(hs == DOPT_ERR_NOT_POSITIVE_DEFINITE && s == hs && info.index == 5 && dft.get() == ft && dst.get() == st,
                   "lqr (%d,%d,%d) %s: status %d (host %d) index %ld", n, m, T_, pname<T>(), (int)s, (int)hs, info.index);
        std::vector<T> gt = dT.get(), gl = dL.get();
        for (ptrdiff_t b = 5 * T_ * NN; b < 6 * T_ * NN; ++b) gt[(size_t)b] = tau[(size_t)b]; // the failed element
        for (ptrdiff_t b = 5 * T_ * n; b < 6 * T_ * n; ++b) gl[(size_t)b] = lam[(size_t)b];
        double e = std::max(cases_err(ntau, gt.data(), tau.data()), cases_err(nlam, gl.data(), lam.data()));
        DOPT_CHECK(e <= 100 * cases_tol<T>(), "lqr (%d,%d,%d) %s: tau/lam error %g", n, m, T_, pname<T>(), e);
        // backward on the GPU over the same elements (element 5 removed: it has no factors)
        dopt_cuda_lqr_grad<T> gg = {{GC.p, g.C.ts, g.C.bs}, {Gc.p, g.c.ts, g.c.bs}, {GF.p, g.F.ts, g.F.bs}, {Gf.p, g.f.ts, g.f.bs},
                                    {Gx.p, 0, n}};
        dopt_cuda_cseq<T> gdt = {dD.p, NN, (ptrdiff_t)T_ * NN};
        s = gpu_lqr_backward(5, n, m, T_, &d, dopt__cuda_const(gta), dopt__cuda_const(gla), gdt, &gg, w.p, wb, &info);
        std::vector<T> a = GC.get(), ref(gC.begin(), gC.begin() + 5 * T_ * NN * NN);
        a.resize(ref.size());
        double eg = cases_err(ref.size(), a.data(), ref.data());
        std::vector<T> ax = Gx.get();
        eg = std::max(eg, cases_err((size_t)(5 * n), ax.data(), gx.data()));
        DOPT_CHECK(s == DOPT_OK && eg <= 100 * cases_tol<T>(), "lqr backward (%d,%d,%d) %s: status %d error %g", n, m, T_,
                   pname<T>(), (int)s, eg);
    }
    size_t wb = 0;
    DOPT_CHECK(gpu_lqr_ws(1, 20, 13, 5, &wb, (T *)0) == DOPT_ERR_UNSUPPORTED, "n + m > 32 unsupported");
    DOPT_CHECK(gpu_lqr_ws(1, 0, 1, 5, &wb, (T *)0) == DOPT_ERR_INVALID_ARGUMENT, "n = 0 rejected");
}
static void test_lqr_gpu_double(void) { lqr_gpu_vs_host<double>(); }
static void test_lqr_gpu_float(void) { lqr_gpu_vs_host<float>(); }

// ---- pose-graph normal equations: the kernel against the host operator --------------------------------
static dopt_status gpu_graph(ptrdiff_t B, ptrdiff_t P, ptrdiff_t E, const int *ij, const float *x, const float *m, float *H,
                             float *g, float *c)
{ return dopt_cuda_se3_graph_normal_batched_f(B, P, E, ij, NULL, P + E, x, 7 * P, m, 7 * E, NULL, 0, H, 36 * (P + E), g, 6 * P, c, 0, NULL); }
static dopt_status gpu_graph(ptrdiff_t B, ptrdiff_t P, ptrdiff_t E, const int *ij, const double *x, const double *m, double *H,
                             double *g, double *c)
{ return dopt_cuda_se3_graph_normal_batched_d(B, P, E, ij, NULL, P + E, x, 7 * P, m, 7 * E, NULL, 0, H, 36 * (P + E), g, 6 * P, c, 0, NULL); }
template <typename T> static void graph_gpu_vs_host(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 41, 1);
    const ptrdiff_t P = 50, E = 120, B = 64;
    std::vector<int> ij((size_t)(2 * E));
    for (ptrdiff_t e = 0; e < E; ++e) {
        ij[(size_t)(2 * e)] = (int)(e % P);
        ij[(size_t)(2 * e + 1)] = (int)((e % P + 1 + e / P * 7) % P);
    }
    std::vector<T> x = cases_batch<T>(&rng, CASES_SE3, B * P, 7), m = cases_batch<T>(&rng, CASES_SE3, B * E, 7);
    std::vector<T> H((size_t)(B * 36 * (P + E)), 0), g((size_t)(B * 6 * P), 0), c((size_t)B, 0);
    dopt_cuda_se3_graph_normal_op<T> op = {P, E, ij.data(), (const int *)0, x.data(), 7 * P, m.data(), 7 * E, (const T *)0, 0,
                                           H.data(), 36 * (P + E), g.data(), 6 * P, c.data()};
    dopt_cuda_host_each(B * E, op);
    dbuf<int> dij(ij);
    dbuf<T> dx(x), dm(m), dH(H.size()), dg(g.size()), dc(c.size());
    dopt_status s = gpu_graph(B, P, E, dij.p, dx.p, dm.p, dH.p, dg.p, dc.p);
    cudaDeviceSynchronize();
    std::vector<T> gH = dH.get(), gg = dg.get(), gc = dc.get();
    double e = std::max(cases_err(H.size(), gH.data(), H.data()), std::max(cases_err(g.size(), gg.data(), g.data()),
                                                                           cases_err(c.size(), gc.data(), c.data())));
    DOPT_CHECK(s == DOPT_OK && e <= 1000 * cases_tol<T>(), "graph normal equations (%s): status %d error %g", pname<T>(), (int)s, e);
}
static void test_graph_gpu_double(void) { graph_gpu_vs_host<double>(); }
static void test_graph_gpu_float(void) { graph_gpu_vs_host<float>(); }

// One LM iteration of a batch on the GPU (normal equations, dense matrix, Cholesky, retraction) against
// the same pieces run on the host.
static dopt_status gpu_dense(ptrdiff_t B, ptrdiff_t P, ptrdiff_t E, const int *ij, const float *H, float lam, float *A)
{ return dopt_cuda_se3_graph_dense_batched_f(B, P, E, ij, H, 36 * (P + E), lam, A, 36 * P * P, 0, NULL); }
static dopt_status gpu_dense(ptrdiff_t B, ptrdiff_t P, ptrdiff_t E, const int *ij, const double *H, double lam, double *A)
{ return dopt_cuda_se3_graph_dense_batched_d(B, P, E, ij, H, 36 * (P + E), lam, A, 36 * P * P, 0, NULL); }
static dopt_status gpu_retract(ptrdiff_t n, float *x, const float *d) { return dopt_cuda_se3_retract_batched_f(n, x, 7, d, 6, 0, NULL); }
static dopt_status gpu_retract(ptrdiff_t n, double *x, const double *d) { return dopt_cuda_se3_retract_batched_d(n, x, 7, d, 6, 0, NULL); }
template <typename T> static void graph_lm_gpu_vs_host(void)
{
    dopt_rng rng;
    dopt_rng_seed(&rng, 47, 2);
    const int P = 8, E = 12, B = 100, n = 6 * P;
    std::vector<int> ij((size_t)(2 * E));
    for (int e = 0; e < E; ++e) { ij[(size_t)(2 * e)] = e % P; ij[(size_t)(2 * e + 1)] = (e % P + 1 + e / P * 3) % P; }
    std::vector<T> x = cases_batch<T>(&rng, CASES_SE3, B * P, 7), m = cases_batch<T>(&rng, CASES_SE3, B * E, 7);
    const ptrdiff_t NB = P + E;
    std::vector<T> H((size_t)(B * 36 * NB), 0), g((size_t)(B * n), 0), A((size_t)(B * n * n), 0);
    dopt_cuda_se3_graph_normal_op<T> op = {P, E, ij.data(), (const int *)0, x.data(), 7 * P, m.data(), 7 * E, (const T *)0, 0,
                                           H.data(), 36 * NB, g.data(), n, (T *)0};
    dopt_cuda_host_each(B * E, op);
    dopt_cuda_se3_graph_dense_op<T> dop = {P, E, ij.data(), H.data(), 36 * NB, T(1), A.data(), (ptrdiff_t)n * n};
    dopt_cuda_host_each(B * NB * 36, dop);
    std::vector<T> xr = x;
    for (int b = 0; b < B; ++b) {
        bool nf;
        dopt_cuda_potrf_one(n, A.data() + (size_t)(b * n * n), n, &nf);
        for (int u = 0; u < n; ++u) g[(size_t)(b * n + u)] = -g[(size_t)(b * n + u)];
        dopt_cuda_potrs_one(n, 1, A.data() + (size_t)(b * n * n), n, g.data() + (size_t)(b * n), n);
    }
    dopt_cuda_se3_retract_op<T> rop = {xr.data(), 7, g.data(), 6};
    dopt_cuda_host_each(B * P, rop);
    dbuf<int> dij(ij);
    dbuf<T> dx(x), dm(m), dH(H.size()), dg(g.size()), dA(A.size());
    size_t wb = dopt_cuda_potrf_batched_workspace_size(B);
    dbuf<unsigned char> w(wb);
    dopt_status s = gpu_graph(B, P, E, dij.p, dx.p, dm.p, dH.p, dg.p, (T *)0);
    if (s == DOPT_OK) s = gpu_dense(B, P, E, dij.p, dH.p, T(1), dA.p);
    if (s == DOPT_OK) s = gpu_potrf(B, n, dA.p, n, (ptrdiff_t)n * n, NULL, w.p, wb, NULL);
    std::vector<T> hg = dg.get();
    for (auto &v : hg) v = -v;
    dbuf<T> dmg(hg);
    if (s == DOPT_OK) s = gpu_potrs(B, n, 1, dA.p, n, (ptrdiff_t)n * n, dmg.p, n, n);
    if (s == DOPT_OK) s = gpu_retract(B * P, dx.p, dmg.p);
    cudaDeviceSynchronize();
    std::vector<T> gx = dx.get();
    double e = cases_err(gx.size(), gx.data(), xr.data());
    DOPT_CHECK(s == DOPT_OK && e <= 1000 * cases_tol<T>(), "LM iteration on the GPU (%s): status %d error %g", pname<T>(), (int)s, e);
}
static void test_graph_lm_gpu_double(void) { graph_lm_gpu_vs_host<double>(); }
static void test_graph_lm_gpu_float(void) { graph_lm_gpu_vs_host<float>(); }

static void test_lie_arguments(void)
{
    dopt_errinfo info;
    DOPT_CHECK(dopt_cuda_so3_exp_batch_d(-1, NULL, 3, NULL, 4, NULL, 0, &info) == DOPT_ERR_INVALID_ARGUMENT, "n < 0");
    DOPT_CHECK(dopt_cuda_se3_act_batch_d(4, NULL, 7, NULL, 3, NULL, 3, NULL, NULL, 0, &info) == DOPT_ERR_INVALID_ARGUMENT,
               "NULL arrays");
    dbuf<double> x((size_t)64);
    DOPT_CHECK(dopt_cuda_se3_exp_batch_d(2, x.p, 5, x.p + 20, 7, NULL, 0, &info) == DOPT_ERR_INVALID_ARGUMENT, "stride < 6");
    DOPT_CHECK(dopt_cuda_se3_exp_batch_d(0, NULL, 6, NULL, 7, NULL, 0, &info) == DOPT_OK, "n = 0");
    DOPT_CHECK(dopt_cuda_status_of(cudaErrorMemoryAllocation, &info) == DOPT_ERR_ALLOCATION && info.message[0],
               "allocation error mapped");
}

static void suite(void)
{
    DOPT_TEST_RUN(test_lie_gpu_double);
    DOPT_TEST_RUN(test_lie_gpu_float);
    DOPT_TEST_RUN(test_potrf_gpu_double);
    DOPT_TEST_RUN(test_potrf_gpu_float);
    DOPT_TEST_RUN(test_anderson_gpu_double);
    DOPT_TEST_RUN(test_anderson_gpu_float);
    DOPT_TEST_RUN(test_cem_gpu_double);
    DOPT_TEST_RUN(test_cem_gpu_float);
    DOPT_TEST_RUN(test_lqr_gpu_double);
    DOPT_TEST_RUN(test_lqr_gpu_float);
    DOPT_TEST_RUN(test_graph_gpu_double);
    DOPT_TEST_RUN(test_graph_gpu_float);
    DOPT_TEST_RUN(test_graph_lm_gpu_double);
    DOPT_TEST_RUN(test_graph_lm_gpu_float);
    DOPT_TEST_RUN(test_lie_arguments);
}

int main(void)
{
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        printf("  SKIP cuda_test: no CUDA device (%s)\n", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        printf("0 passed, 0 failed, 1 skipped\n");
        return 0;
    }
    cudaDeviceProp prop;
    cudaGetDeviceProperties(&prop, 0);
    printf("device: %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
    suite();
    printf("%d passed, %d failed, %d skipped\n", dopt_test_g.passed, dopt_test_g.failed, dopt_test_g.skipped);
    return dopt_test_g.failed ? 1 : 0;
}
