// bench/cuda_bench.cu — `make bench-cuda` (bench/cuda.sh): dopt_cuda.cuh's kernels on the GPU against
// one CPU core running the CPU code (dopt_lie.h batch functions, dopt.h potrf/potrs, the host
// Anderson step).  Data stays resident on the device (the learning-pipeline case): GPU times are
// the kernels' (CUDA events around `reps` launches), without transfers.  One line per measurement:
//   bench cuda lie_<op>_<prec> n=... gpu_us=... cpu_us=... speedup=... gbps=... bw_frac=... ratio=
//   bench cuda chol_<prec> n=... batch=... gpu_us_per_solve=... cpu_us_per_solve=... ratio=
//   bench cuda anderson_<prec> d=... m=... batch=... gpu_us=... cpu_us=... ratio=
//   bench cuda cem_{sample,update}_<prec> d=... K=... batch=... gpu_us=... cpu_us=... ratio=
//   bench cuda lqr_<prec> n=... m=... T=... batch=... gpu_us=... cpu_us=... ratio=  (forward + backward,
//     GPU kernels against dopt_mpc.h's LQR solve + backward on one core)
// ratio = GPU time / CPU time (below 1: the GPU wins).  bw_frac = achieved bandwidth / the device's
// theoretical peak (memory clock x bus width x 2).  Args: [max_lie_n] (default 1e6).
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_lie.h"
#include "dopt_mpc.h"
#include "dopt_cuda.cuh"
#include "tests/cuda_cases.h"
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

static double now_us()
{
    return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Microseconds per call of f on the GPU (events on the default stream) and on the CPU (wall clock).
template <typename F> static double gpu_time(F f, int reps)
{
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    f(); // warm-up
    cudaEventRecord(a);
    for (int r = 0; r < reps; ++r) f();
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return 1e3 * ms / reps;
}
template <typename F> static double cpu_time(F f, int reps)
{
    f();
    double t0 = now_us();
    for (int r = 0; r < reps; ++r) f();
    return (now_us() - t0) / reps;
}
static int reps_for(double n, double budget) { double r = budget / (n > 1 ? n : 1); return r < 3 ? 3 : r > 2000 ? 2000 : (int)r; }

template <typename T> static T *dev_random(size_t n, int kind, dopt_rng *rng)
{
    // kind 3/6: tangents; 4/7: group elements; 0: points/matrices
    std::vector<T> h(n);
    if (kind == 4 || kind == 7) {
        for (size_t k = 0; k + kind <= n; k += kind) {
            double g[7];
            if (kind == 4) dopt_so3_random_d(rng, g); else dopt_se3_random_d(rng, g);
            for (int i = 0; i < kind; ++i) h[k + i] = (T)g[i];
        }
    } else {
        for (size_t i = 0; i < n; ++i) h[i] = (T)dopt_rng_normal_d(rng);
    }
    T *d = nullptr;
    cudaMalloc(&d, n * sizeof(T) + 8);
    cudaMemcpy(d, h.data(), n * sizeof(T), cudaMemcpyHostToDevice);
    return d;
}
template <typename T> static std::vector<T> host_copy(const T *d, size_t n)
{
    std::vector<T> h(n);
    cudaMemcpy(h.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost);
    return h;
}

static double g_peak_gbps = 0;

// One Lie operation: in sizes ia, ib (ib = 0: unary), out size o, Jacobian sizes ja, jb per element.
struct lie_case {
    const char *name;
    int ia, ib, o, ja, jb;
};

template <typename T> struct lie_fns;
#define LIE_FNS(T, S)                                                                                    \
    template <> struct lie_fns<T> {                                                                       \
        static void gpu(const lie_case &c, long n, const T *a, const T *b, T *o, T *Ja, T *Jb)             \
        {                                                                                                 \
            const char *m = c.name;                                                                       \
            if (!strcmp(m, "so3_exp")) dopt_cuda_so3_exp_batch_##S(n, a, 3, o, 4, Ja, 0, NULL);             \
            else if (!strcmp(m, "so3_log")) dopt_cuda_so3_log_batch_##S(n, a, 4, o, 3, Ja, 0, NULL);        \
            else if (!strcmp(m, "se3_exp")) dopt_cuda_se3_exp_batch_##S(n, a, 6, o, 7, Ja, 0, NULL);        \
            else if (!strcmp(m, "se3_log")) dopt_cuda_se3_log_batch_##S(n, a, 7, o, 6, Ja, 0, NULL);        \
            else if (!strcmp(m, "so3_compose")) dopt_cuda_so3_compose_batch_##S(n, a, 4, b, 4, o, 4, Ja, Jb, 0, NULL); \
            else if (!strcmp(m, "so3_act")) dopt_cuda_so3_act_batch_##S(n, a, 4, b, 3, o, 3, Ja, Jb, 0, NULL); \
            else if (!strcmp(m, "se3_compose")) dopt_cuda_se3_compose_batch_##S(n, a, 7, b, 7, o, 7, Ja, Jb, 0, NULL); \
            else if (!strcmp(m, "se3_act")) dopt_cuda_se3_act_batch_##S(n, a, 7, b, 3, o, 3, Ja, Jb, 0, NULL); \
        }                                                                                                 \
        static void cpu(const lie_case &c, long n, const T *a, const T *b, T *o, T *Ja, T *Jb)             \
        {                                                                                                 \
            const char *m = c.name;                                                                       \
            if (!strcmp(m, "so3_exp")) dopt_so3_exp_batch_##S(n, a, 3, o, 4, Ja);                          \
            else if (!strcmp(m, "so3_log")) dopt_so3_log_batch_##S(n, a, 4, o, 3, Ja);                     \
            else if (!strcmp(m, "se3_exp")) dopt_se3_exp_batch_##S(n, a, 6, o, 7, Ja);                     \
            else if (!strcmp(m, "se3_log")) dopt_se3_log_batch_##S(n, a, 7, o, 6, Ja);                     \
            else if (!strcmp(m, "so3_compose")) dopt_so3_compose_batch_##S(n, a, 4, b, 4, o, 4, Ja, Jb);   \
            else if (!strcmp(m, "so3_act")) dopt_so3_act_batch_##S(n, a, 4, b, 3, o, 3, Ja, Jb);           \
            else if (!strcmp(m, "se3_compose")) dopt_se3_compose_batch_##S(n, a, 7, b, 7, o, 7, Ja, Jb);   \
            else if (!strcmp(m, "se3_act")) dopt_se3_act_batch_##S(n, a, 7, b, 3, o, 3, Ja, Jb);           \
        }                                                                                                 \
    };
LIE_FNS(float, f)
LIE_FNS(double, d)

template <typename T> static void bench_lie(long max_n)
{
    const lie_case cases[] = {
        {"so3_exp", 3, 0, 4, 0, 0},     {"so3_log", 4, 0, 3, 0, 0},     {"so3_compose", 4, 4, 4, 0, 0},
        {"so3_act", 4, 3, 3, 0, 0},     {"se3_exp", 6, 0, 7, 0, 0},     {"se3_log", 7, 0, 6, 0, 0},
        {"se3_compose", 7, 7, 7, 0, 0}, {"se3_act", 7, 3, 3, 0, 0},     {"se3_log", 7, 0, 6, 36, 0},
        {"se3_act", 7, 3, 3, 18, 0},
    };
    const char *pn = sizeof(T) == 4 ? "f" : "d";
    dopt_rng rng;
    dopt_rng_seed(&rng, 1, 1);
    for (const lie_case &c : cases) {
        int ka = (!strcmp(c.name, "so3_exp") || !strcmp(c.name, "se3_exp")) ? 0 : c.ia;
        T *a = dev_random<T>((size_t)max_n * c.ia, ka, &rng);
        T *b = c.ib ? dev_random<T>((size_t)max_n * c.ib, c.ib == 3 ? 0 : c.ib, &rng) : nullptr;
        T *o = nullptr, *Ja = nullptr;
        cudaMalloc(&o, (size_t)max_n * c.o * sizeof(T));
        if (c.ja) cudaMalloc(&Ja, (size_t)max_n * c.ja * sizeof(T));
        std::vector<T> ha = host_copy(a, (size_t)max_n * c.ia), hb = b ? host_copy(b, (size_t)max_n * c.ib) : std::vector<T>();
        std::vector<T> ho((size_t)max_n * c.o), hJ((size_t)max_n * c.ja);
        for (long n = 1; n <= max_n; n *= 10) {
            double bytes = (double)n * (c.ia + c.ib + c.o + c.ja) * sizeof(T);
            int reps = reps_for((double)n, 2e7);
            double g = gpu_time([&] { lie_fns<T>::gpu(c, n, a, b, o, Ja, nullptr); }, reps);
            double h = cpu_time([&] { lie_fns<T>::cpu(c, n, ha.data(), b ? hb.data() : nullptr, ho.data(), c.ja ? hJ.data() : nullptr, nullptr); },
                                reps_for((double)n, 2e6));
            double gbps = bytes / (g * 1e3);
            printf("bench cuda lie_%s%s_%s n=%ld gpu_us=%.3f cpu_us=%.3f speedup=%.1f gbps=%.1f bw_frac=%.2f ratio=%.4f\n",
                   c.name, c.ja ? "_J" : "", pn, n, g, h, h / g, gbps, g_peak_gbps > 0 ? gbps / g_peak_gbps : 0, g / h);
            fflush(stdout);
        }
        cudaFree(a); cudaFree(b); cudaFree(o); cudaFree(Ja);
    }
}

template <typename T> static void bench_chol(void)
{
    const int sizes[] = {6, 12, 32, 64};
    const long batches[] = {1, 4, 16, 64, 256, 1024, 4096};
    const char *pn = sizeof(T) == 4 ? "f" : "d";
    dopt_rng rng;
    dopt_rng_seed(&rng, 2, 2);
    size_t wb = dopt_cuda_potrf_batched_workspace_size(4096);
    void *work = nullptr;
    cudaMalloc(&work, wb);
    for (int n : sizes)
        for (long batch : batches) {
            size_t nA = (size_t)batch * n * n, nB = (size_t)batch * n;
            std::vector<T> A(nA), B(nB);
            for (long b = 0; b < batch; ++b) {
                std::vector<double> M((size_t)n * n);
                for (auto &v : M) v = dopt_rng_normal_d(&rng);
                for (int j = 0; j < n; ++j)
                    for (int i = 0; i < n; ++i) {
                        double s = i == j ? n : 0;
                        for (int k = 0; k < n; ++k) s += M[i + k * n] * M[j + k * n];
                        A[b * n * n + i + j * n] = (T)s;
                    }
            }
            for (auto &v : B) v = (T)dopt_rng_normal_d(&rng);
            T *dA0, *dA, *dB;
            cudaMalloc(&dA0, nA * sizeof(T)); cudaMalloc(&dA, nA * sizeof(T)); cudaMalloc(&dB, nB * sizeof(T));
            cudaMemcpy(dA0, A.data(), nA * sizeof(T), cudaMemcpyHostToDevice);
            cudaMemcpy(dB, B.data(), nB * sizeof(T), cudaMemcpyHostToDevice);
            int reps = reps_for((double)batch * n * n, 2e6);
            // factor a fresh copy each time (the copy is timed too: a device-to-device memcpy)
            double g = gpu_time([&] {
                cudaMemcpyAsync(dA, dA0, nA * sizeof(T), cudaMemcpyDeviceToDevice);
                if (sizeof(T) == 4) {
                    dopt_cuda_potrf_batched_f(batch, n, (float *)dA, n, (ptrdiff_t)n * n, NULL, work, wb, 0, NULL);
                    dopt_cuda_potrs_batched_f(batch, n, 1, (float *)dA, n, (ptrdiff_t)n * n, (float *)dB, n, n, 0, NULL);
                } else {
                    dopt_cuda_potrf_batched_d(batch, n, (double *)dA, n, (ptrdiff_t)n * n, NULL, work, wb, 0, NULL);
                    dopt_cuda_potrs_batched_d(batch, n, 1, (double *)dA, n, (ptrdiff_t)n * n, (double *)dB, n, n, 0, NULL);
                }
            }, reps);
            std::vector<T> hA(nA), hB(nB);
            double h = cpu_time([&] {
                hA = A;
                if (sizeof(T) == 4) {
                    dopt_potrf_batched_f((int)batch, n, (float *)hA.data(), n, (ptrdiff_t)n * n, NULL);
                    dopt_potrs_batched_f((int)batch, n, 1, (float *)hA.data(), n, (ptrdiff_t)n * n, (float *)hB.data(), n, n);
                } else {
                    dopt_potrf_batched_d((int)batch, n, (double *)hA.data(), n, (ptrdiff_t)n * n, NULL);
                    dopt_potrs_batched_d((int)batch, n, 1, (double *)hA.data(), n, (ptrdiff_t)n * n, (double *)hB.data(), n, n);
                }
            }, reps);
            printf("bench cuda chol_%s n=%d batch=%ld gpu_us_per_solve=%.4f cpu_us_per_solve=%.4f gpu_us=%.2f cpu_us=%.2f ratio=%.4f\n",
                   pn, n, batch, g / batch, h / batch, g, h, g / h);
            fflush(stdout);
            cudaFree(dA0); cudaFree(dA); cudaFree(dB);
        }
    cudaFree(work);
}

template <typename T> static void bench_anderson(void)
{
    const int d = 4096, m = 5;
    const long batches[] = {1, 16, 256, 1024};
    const char *pn = sizeof(T) == 4 ? "f" : "d";
    dopt_rng rng;
    dopt_rng_seed(&rng, 3, 3);
    size_t wb = dopt_cuda_potrf_batched_workspace_size(1024);
    void *work = nullptr;
    cudaMalloc(&work, wb);
    for (long batch : batches) {
        size_t nx = (size_t)batch * d * m;
        T *X = dev_random<T>(nx, 0, &rng), *G = dev_random<T>(nx, 0, &rng), *xn = nullptr;
        cudaMalloc(&xn, (size_t)batch * d * sizeof(T));
        std::vector<T> hX = host_copy(X, nx), hG = host_copy(G, nx), hn((size_t)batch * d), w((size_t)m * m + m);
        int reps = reps_for((double)nx, 2e7);
        double g = gpu_time([&] {
            if (sizeof(T) == 4)
                dopt_cuda_anderson_batched_f(batch, d, m, (const float *)X, d, (ptrdiff_t)d * m, (const float *)G, d,
                                             (ptrdiff_t)d * m, (float *)xn, d, NULL, NULL, work, wb, 0, NULL);
            else
                dopt_cuda_anderson_batched_d(batch, d, m, (const double *)X, d, (ptrdiff_t)d * m, (const double *)G, d,
                                             (ptrdiff_t)d * m, (double *)xn, d, NULL, NULL, work, wb, 0, NULL);
        }, reps);
        T lam, beta;
        dopt__cuda_anderson_resolve<T>(NULL, &lam, &beta);
        double h = cpu_time([&] {
            for (long b = 0; b < batch; ++b)
                dopt_cuda_anderson_one(d, m, hX.data() + b * d * m, d, hG.data() + b * d * m, d, lam, beta, hn.data() + b * d, w.data());
        }, reps_for((double)nx, 2e6));
        printf("bench cuda anderson_%s d=%d m=%d batch=%ld gpu_us=%.2f cpu_us=%.2f speedup=%.1f ratio=%.4f\n", pn, d, m, batch,
               g, h, h / g, g / h);
        fflush(stdout);
        cudaFree(X); cudaFree(G); cudaFree(xn);
    }
    cudaFree(work);
}


// CEM iteration pieces: sampling (batch x K x d normals) and the elite update, GPU vs one core.
template <typename T> static void bench_cem(void)
{
    const int d = 32, K = 512, E = 32; // an MPC-sized action sequence, PETS-like population
    const long batches[] = {1, 16, 256, 1024};
    const char *pn = sizeof(T) == 4 ? "f" : "d";
    dopt_rng rng;
    dopt_rng_seed(&rng, 4, 4);
    size_t wb = dopt_cuda_potrf_batched_workspace_size(1024);
    void *work = nullptr;
    cudaMalloc(&work, wb);
    for (long batch : batches) {
        size_t nx = (size_t)batch * K * d;
        T *mean = dev_random<T>((size_t)batch * d, 0, &rng), *sd = dev_random<T>((size_t)batch * d, 0, &rng);
        T *cost = dev_random<T>((size_t)batch * K, 0, &rng), *X = nullptr;
        cudaMalloc(&X, nx * sizeof(T));
        std::vector<T> hm = host_copy(mean, (size_t)batch * d), hs = host_copy(sd, (size_t)batch * d);
        std::vector<T> hc = host_copy(cost, (size_t)batch * K), hX(nx);
        std::vector<int> elite((size_t)K);
        int reps = reps_for((double)nx, 2e7);
        double gs = gpu_time([&] {
            if (sizeof(T) == 4) dopt_cuda_cem_sample_batched_f(batch, d, K, (float *)mean, d, (float *)sd, d, 1, 0, (float *)X, (ptrdiff_t)d * K, 0, NULL);
            else dopt_cuda_cem_sample_batched_d(batch, d, K, (double *)mean, d, (double *)sd, d, 1, 0, (double *)X, (ptrdiff_t)d * K, 0, NULL);
        }, reps);
        double hs_us = cpu_time([&] {
            for (long b = 0; b < batch; ++b) dopt_cuda_cem_sample_one(d, K, hm.data() + b * d, hs.data() + b * d, 1, 0, b, hX.data() + b * (size_t)d * K);
        }, reps_for((double)nx, 2e6));
        // the update changes mean/std in place: alpha = 1 and fixed elites make every repetition alike
        double gu = gpu_time([&] {
            if (sizeof(T) == 4) dopt_cuda_cem_update_batched_f(batch, d, K, E, (float *)X, (ptrdiff_t)d * K, (float *)cost, K, (float *)mean, d, (float *)sd, d, NULL, NULL, work, wb, 0, NULL);
            else dopt_cuda_cem_update_batched_d(batch, d, K, E, (double *)X, (ptrdiff_t)d * K, (double *)cost, K, (double *)mean, d, (double *)sd, d, NULL, NULL, work, wb, 0, NULL);
        }, reps);
        double hu = cpu_time([&] {
            for (long b = 0; b < batch; ++b)
                dopt_cuda_cem_update_one(d, K, E, hX.data() + b * (size_t)d * K, hc.data() + b * K, T(1), T(0), hm.data() + b * d, hs.data() + b * d, elite.data());
        }, reps_for((double)nx, 2e6));
        printf("bench cuda cem_sample_%s d=%d K=%d batch=%ld gpu_us=%.2f cpu_us=%.2f speedup=%.1f ratio=%.4f\n", pn, d, K, batch, gs, hs_us, hs_us / gs, gs / hs_us);
        printf("bench cuda cem_update_%s d=%d K=%d E=%d batch=%ld gpu_us=%.2f cpu_us=%.2f speedup=%.1f ratio=%.4f\n", pn, d, K, E, batch, gu, hu, hu / gu, gu / hu);
        fflush(stdout);
        cudaFree(mean); cudaFree(sd); cudaFree(cost); cudaFree(X);
    }
    cudaFree(work);
}

// Batched LQR forward + backward: dopt_cuda_lqr_{solve,backward}_batched against dopt_mpc_lqr_{solve,backward}.
#define LQR_FNS(T, S)                                                                                          \
    static double cpu_lqr_us(const lqr_case<T> &k, const std::vector<T> &dtau, int reps)                     \
    {                                                                                                        \
        const int n = k.n, m = k.m, T_ = k.T_, N = n + m;                                                    \
        dopt_mpc_lqr_##S *s = NULL;                                                                          \
        if (dopt_mpc_lqr_create_##S(NULL, n, m, T_, k.B, &s, NULL) != DOPT_OK) return -1;                      \
        dopt_mpc_lqr_data_##S d;                                                                             \
        memset(&d, 0, sizeof d);                                                                             \
        d.C.p = k.C.data(); d.C.ts = (ptrdiff_t)N * N; d.C.bs = (ptrdiff_t)T_ * N * N;                        \
        d.c.p = k.c.data(); d.c.ts = N; d.c.bs = (ptrdiff_t)T_ * N;                                           \
        d.F.p = k.F.data(); d.F.ts = (ptrdiff_t)n * N; d.F.bs = (ptrdiff_t)(T_ - 1) * n * N;                  \
        d.f.p = k.f.data(); d.f.ts = n; d.f.bs = (ptrdiff_t)(T_ - 1) * n;                                     \
        d.x_init.p = k.x0.data(); d.x_init.bs = n;                                                           \
        std::vector<T> tau((size_t)(k.B * T_ * N)), lam((size_t)(k.B * T_ * n)), gC(k.C.size()), gF(k.F.size()); \
        dopt_mpc_seq_##S ta = {tau.data(), N, (ptrdiff_t)T_ * N}, la = {lam.data(), n, (ptrdiff_t)T_ * n};     \
        dopt_mpc_cseq_##S dt = {dtau.data(), N, (ptrdiff_t)T_ * N};                                          \
        dopt_mpc_lqr_grad_##S g;                                                                             \
        memset(&g, 0, sizeof g);                                                                             \
        g.C.p = gC.data(); g.C.ts = d.C.ts; g.C.bs = d.C.bs;                                                  \
        g.F.p = gF.data(); g.F.ts = d.F.ts; g.F.bs = d.F.bs;                                                  \
        double us = cpu_time([&] {                                                                           \
            dopt_mpc_lqr_solve_##S(s, &d, NULL, ta, la, NULL, NULL);                                         \
            dopt_mpc_lqr_backward_##S(s, dt, NULL, &g, NULL, NULL);                                           \
        }, reps);                                                                                            \
        dopt_mpc_lqr_destroy_##S(s);                                                                         \
        return us;                                                                                           \
    }                                                                                                        \
    static double gpu_lqr_us(const lqr_case<T> &k, const std::vector<T> &dtau, int reps)                     \
    {                                                                                                        \
        const int n = k.n, m = k.m, T_ = k.T_, N = n + m;                                                    \
        T *C, *c, *F, *f, *x0, *tau, *lam, *dt, *gC, *gF;                                                    \
        size_t wb = 0;                                                                                       \
        dopt_cuda_lqr_workspace_size_##S(k.B, n, m, T_, &wb, NULL);                                          \
        void *w = nullptr;                                                                                   \
        cudaMalloc(&w, wb);                                                                                  \
        cudaMalloc(&C, k.C.size() * sizeof(T)); cudaMalloc(&c, k.c.size() * sizeof(T));                     \
        cudaMalloc(&F, k.F.size() * sizeof(T)); cudaMalloc(&f, k.f.size() * sizeof(T));                     \
        cudaMalloc(&x0, k.x0.size() * sizeof(T)); cudaMalloc(&dt, dtau.size() * sizeof(T));                  \
        cudaMalloc(&tau, dtau.size() * sizeof(T)); cudaMalloc(&lam, (size_t)(k.B * T_ * n) * sizeof(T));     \
        cudaMalloc(&gC, k.C.size() * sizeof(T)); cudaMalloc(&gF, k.F.size() * sizeof(T));                    \
        cudaMemcpy(C, k.C.data(), k.C.size() * sizeof(T), cudaMemcpyHostToDevice);                           \
        cudaMemcpy(c, k.c.data(), k.c.size() * sizeof(T), cudaMemcpyHostToDevice);                           \
        cudaMemcpy(F, k.F.data(), k.F.size() * sizeof(T), cudaMemcpyHostToDevice);                           \
        cudaMemcpy(f, k.f.data(), k.f.size() * sizeof(T), cudaMemcpyHostToDevice);                           \
        cudaMemcpy(x0, k.x0.data(), k.x0.size() * sizeof(T), cudaMemcpyHostToDevice);                        \
        cudaMemcpy(dt, dtau.data(), dtau.size() * sizeof(T), cudaMemcpyHostToDevice);                        \
        dopt_cuda_lqr_data<T> d = k.data();                                                                  \
        d.C.p = C; d.c.p = c; d.F.p = F; d.f.p = f; d.x_init.p = x0;                                         \
        dopt_cuda_seq<T> ta = {tau, N, (ptrdiff_t)T_ * N}, la = {lam, n, (ptrdiff_t)T_ * n};                  \
        dopt_cuda_cseq<T> dc = {dt, N, (ptrdiff_t)T_ * N};                                                   \
        dopt_cuda_lqr_grad<T> g = {{gC, d.C.ts, d.C.bs}, {NULL, 0, 0}, {gF, d.F.ts, d.F.bs}, {NULL, 0, 0}, {NULL, 0, 0}}; \
        dopt_status st = DOPT_OK;                                                                            \
        double us = gpu_time([&] {                                                                           \
            st = dopt_cuda_lqr_solve_batched_##S(k.B, n, m, T_, &d, ta, la, NULL, NULL, w, wb, 0, NULL);      \
            if (st == DOPT_OK)                                                                               \
                st = dopt_cuda_lqr_backward_batched_##S(k.B, n, m, T_, &d, dopt__cuda_const(ta), dopt__cuda_const(la), \
                                                        dc, &g, NULL, w, wb, 0, NULL);                       \
        }, reps);                                                                                            \
        cudaFree(w); cudaFree(C); cudaFree(c); cudaFree(F); cudaFree(f); cudaFree(x0); cudaFree(dt);          \
        cudaFree(tau); cudaFree(lam); cudaFree(gC); cudaFree(gF);                                            \
        return st == DOPT_OK ? us : -1;                                                                      \
    }
LQR_FNS(float, f)
LQR_FNS(double, d)

template <typename T> static void bench_lqr(void)
{
    const int sizes[][3] = {{4, 2, 20}, {10, 5, 20}, {16, 8, 50}};
    const long batches[] = {1, 64, 1024, 16384};
    const char *pn = sizeof(T) == 4 ? "f" : "d";
    dopt_rng rng;
    dopt_rng_seed(&rng, 5, 3);
    for (auto &sz : sizes)
        for (long batch : batches) {
            lqr_case<T> k = make_lqr_case<T>(&rng, sz[0], sz[1], sz[2], batch);
            std::vector<T> dtau((size_t)(batch * sz[2] * (sz[0] + sz[1])));
            for (auto &v : dtau) v = (T)dopt_rng_normal_d(&rng);
            int reps = reps_for((double)batch * sz[2], 2e5);
            double g = gpu_lqr_us(k, dtau, reps), h = cpu_lqr_us(k, dtau, reps);
            printf("bench cuda lqr_%s n=%d m=%d T=%d batch=%ld gpu_us=%.2f cpu_us=%.2f speedup=%.1f ratio=%.4f\n", pn, sz[0],
                   sz[1], sz[2], batch, g, h, h / g, g / h);
            fflush(stdout);
        }
}

int main(int argc, char **argv)
{
    long max_n = argc > 1 ? atol(argv[1]) : 1000000;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        printf("# skip: no CUDA device (%s)\n", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        return 0;
    }
    cudaDeviceProp p;
    cudaGetDeviceProperties(&p, 0);
    int clock_khz = 0, bus_bits = 0, rt = 0, drv = 0;
    cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, 0);
    cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, 0);
    cudaRuntimeGetVersion(&rt);
    cudaDriverGetVersion(&drv);
    g_peak_gbps = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
    printf("# device: %s sm_%d%d, %d SMs, peak memory bandwidth %.0f GB/s; CUDA runtime %d, driver %d\n", p.name, p.major,
           p.minor, p.multiProcessorCount, g_peak_gbps, rt, drv);
    bench_lie<double>(max_n);
    bench_lie<float>(max_n);
    bench_chol<double>();
    bench_chol<float>();
    bench_anderson<double>();
    bench_anderson<float>();
    bench_cem<double>();
    bench_cem<float>();
    bench_lqr<double>();
    bench_lqr<float>();
    printf("# not implemented yet (dopt_cuda.cuh): cube pose-graph LM batch, Theseus cube on the GPU\n");
    return 0;
}
