/* bench/cem_dopt.c — dopt's side of `make bench-cem` (see bench/cem.sh).  One line per case:
 *   dopt <case> time_s=<seconds per unit> [obj_s=<seconds in the user objective per unit>]
 *        [normals_s=..] [overhead_lo=.. overhead_hi=..]
 * where the unit is one CEM iteration of the whole batch (cem_*), one DCEM forward + backward of
 * the whole batch (dcem_*) or one LML forward + backward of the batch (lml_*).  obj_s: for the
 * quadratic, the time inside the objective calls; for the car, the rollouts of the action
 * sequences the plan made (recorded in a warm-up run) timed alone, alternating with the plan in
 * the same repetition loop.  normals_s: the solver's sampler drawing the iteration's B P D
 * normals alone (the least work a CEM iteration does besides the objective).  overhead_lo/hi:
 * the smallest and largest share outside the objective over the repetitions (car: each plan
 * paired with the replay that follows it).  Double precision, one thread, process CPU time, best
 * of several repetitions.  The problems are the same as bench/cem_torch.py's. */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

enum { B = 32, ITERS = 10 };

/* ---- quadratic objective: f = sum_i (i+1)/D (x_i - theta)^2, the weights (i+1)/D computed once
 * per call (as the torch side's arange), the theta gradient summed locally ---- */
typedef struct quad { double theta; double g_theta; double time; } quad;

static void quad_weights(int D, double *w)
{
    int i;
    for (i = 0; i < D; ++i) w[i] = (double)(i + 1) / D;
}

static dopt_status quad_cost(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D, const double *X, double *f)
{
    quad *q = (quad *)user;
    ptrdiff_t s;
    int i;
    double t0 = now(), w[64], th = q->theta;
    (void)first;
    quad_weights(D, w);
    for (s = 0; s < count * P; ++s) {
        const double *x = X + (size_t)s * D;
        double acc = 0;
        for (i = 0; i < D; ++i) acc += w[i] * (x[i] - th) * (x[i] - th);
        f[s] = acc;
    }
    q->time += now() - t0;
    return DOPT_OK;
}

static dopt_status quad_vjp(void *user, ptrdiff_t first, ptrdiff_t count, int P, int D, const double *X,
                            const double *gf, double *gX)
{
    quad *q = (quad *)user;
    ptrdiff_t s;
    int i;
    double t0 = now(), w[64], th = q->theta, gth = 0;
    (void)first;
    quad_weights(D, w);
    for (s = 0; s < count * P; ++s) {
        const double *x = X + (size_t)s * D;
        double *g = gX + (size_t)s * D, acc = 0;
        for (i = 0; i < D; ++i) {
            double v = 2 * w[i] * (x[i] - th) * gf[s];
            g[i] += v;
            acc += v;
        }
        gth -= acc;
    }
    q->g_theta += gth;
    q->time += now() - t0;
    return DOPT_OK;
}

/* ---- 2-D car: state (px, py, heading, speed), control (acceleration, steering), dt 0.1, goal
 * (5, 5), three round obstacles with a quadratic penetration penalty.  While `record` is set,
 * car_step keeps a copy of every action sequence it is given (at t = 0), so that the same
 * rollouts can be timed alone afterwards (the objective's own cost on the very samples CEM made:
 * sin and cos cost more or less depending on their arguments). ---- */
typedef struct car { double *tape; size_t used, cap; int record, D; } car;
static const double obst[3][3] = {{2, 2, 0.8}, {3.5, 1, 0.6}, {1, 3.5, 0.6}};

static dopt_status car_step(void *user, ptrdiff_t element, int t, int count, const double *x, const double *u, int ldu,
                            double *xn, double *cost)
{
    car *k = (car *)user;
    int j, o;
    (void)element;
    if (k && k->record && t == 0 && k->used + (size_t)count * ldu <= k->cap) {
        memcpy(k->tape + k->used, u, sizeof(double) * (size_t)count * ldu);
        k->used += (size_t)count * ldu;
    }
    for (j = 0; j < count; ++j) {
        const double *s = x + 4 * j, *a = u + (size_t)j * ldu;
        double *n = xn + 4 * j, c, dx, dy;
        n[0] = s[0] + 0.1 * s[3] * cos(s[2]);
        n[1] = s[1] + 0.1 * s[3] * sin(s[2]);
        n[2] = s[2] + 0.1 * s[3] * a[1];
        n[3] = s[3] + 0.1 * a[0];
        dx = n[0] - 5, dy = n[1] - 5;
        c = dx * dx + dy * dy + 0.01 * (a[0] * a[0] + a[1] * a[1]);
        for (o = 0; o < 3; ++o) {
            double ex = n[0] - obst[o][0], ey = n[1] - obst[o][1], d = sqrt(ex * ex + ey * ey), pen = obst[o][2] - d;
            if (pen > 0) c += 100 * pen * pen;
        }
        cost[j] += c;
    }
    return DOPT_OK;
}

/* The rollouts of the recorded action sequences alone (population P, horizon H, from x0 of
 * element b = sequence block % B), the same loop as dopt_mpc_cem_plan runs, the step called
 * through a function pointer with the same user data as the plan's (not inlined here, where the
 * plan cannot); CPU seconds. */
static dopt_status (*volatile car_step_fn)(void *, ptrdiff_t, int, int, const double *, const double *, int, double *,
                                           double *) = car_step;

static double car_replay(car *k, int P, int H, const double *x0)
{
    double *xa = (double *)malloc(sizeof(double) * P * 4), *xb = (double *)malloc(sizeof(double) * P * 4);
    double *f = (double *)malloc(sizeof(double) * P), t0 = now(), *sw;
    size_t blocks = k->used / ((size_t)P * 2 * H), q;
    int t, j;
    for (q = 0; q < blocks; ++q) {
        const double *U = k->tape + q * (size_t)P * 2 * H;
        int b = (int)(q % B);
        for (j = 0; j < P; ++j) memcpy(xa + 4 * j, x0 + 4 * b, 4 * sizeof(double)), f[j] = 0;
        for (t = 0; t < H; ++t) {
            car_step_fn(k, b, t, P, xa, U + 2 * t, 2 * H, xb, f);
            sw = xa, xa = xb, xb = sw;
        }
    }
    t0 = now() - t0;
    free(xa), free(xb), free(f);
    return t0;
}

/* The solver's sampler alone: the B P D normals of one iteration (element b from its own lanes,
 * as the solver draws them), CPU seconds per iteration.  Reaches into the implementation (this
 * file includes it): the sampler in the kernel family the CPU runs. */
static double time_normals(dopt_mpc_cem_d *c, int P, int D)
{
    double *buf = (double *)malloc(sizeof(double) * P * D), t0 = now();
    int r, b;
    for (r = 0; r < ITERS; ++r)
        for (b = 0; b < B; ++b) DOPT__KSEL(dopt__mpc_cem_normals_d)(&c->zig, &c->lanes[b], (size_t)P * D, buf);
    t0 = (now() - t0) / ITERS;
    free(buf);
    return t0;
}

static void bench_cem_quad(int D, int P)
{
    dopt_mpc_cem_dims dims = {B, D, P, P / 10, 0, 0};
    dopt_mpc_cem_d *c;
    dopt_mpc_cem_options_d o = dopt_mpc_cem_default_options_d();
    quad q = {0.5, 0, 0};
    dopt_mpc_cem_objective_d obj = {quad_cost, NULL, NULL};
    double *mean = (double *)malloc(sizeof(double) * B * D), *std = (double *)malloc(sizeof(double) * B * D);
    double best = 1e300, best_obj = 0, best_nrm = 1e300, olo = 1, ohi = 0;
    int rep, i;
    obj.user = &q;
    o.iterations = ITERS;
    dopt_mpc_cem_create_d(NULL, &dims, &c, NULL);
    for (rep = 0; rep < 7; ++rep) {
        double t0, t, nrm;
        for (i = 0; i < B * D; ++i) mean[i] = 0, std[i] = 1;
        q.time = 0;
        t0 = now();
        dopt_mpc_cem_solve_d(c, &o, &obj, mean, D, std, D, NULL, 0, NULL, NULL, NULL);
        t = now() - t0;
        if (t < best) best = t, best_obj = q.time;
        olo = 1 - q.time / t < olo ? 1 - q.time / t : olo;
        ohi = 1 - q.time / t > ohi ? 1 - q.time / t : ohi;
        nrm = time_normals(c, P, D);
        best_nrm = nrm < best_nrm ? nrm : best_nrm;
    }
    printf("dopt cem_quad_D%d_P%d time_s=%.6e obj_s=%.6e normals_s=%.6e overhead_lo=%.3f overhead_hi=%.3f\n", D, P,
           best / ITERS, best_obj / ITERS, best_nrm, olo, ohi);
    dopt_mpc_cem_destroy_d(c);
    free(mean), free(std);
}

static void bench_cem_car(int P)
{
    enum { H = 20 };
    dopt_mpc_cem_dims dims = {B, 2 * H, P, P / 10, 4, 0};
    dopt_mpc_cem_d *c;
    dopt_mpc_cem_options_d o = dopt_mpc_cem_default_options_d();
    car k = {NULL, 0, 0, 0, 2 * H};
    dopt_mpc_cem_dynamics_d dyn = {2, car_step, NULL, NULL};
    double mean[B * 2 * H], std[B * 2 * H], x0[B * 4], lo[2 * H], hi[2 * H], best = 1e300, best_obj = 1e300;
    double best_nrm = 1e300, olo = 1, ohi = 0;
    int rep, i;
    k.cap = (size_t)ITERS * B * P * 2 * H;
    k.tape = (double *)malloc(sizeof(double) * k.cap);
    dyn.user = &k;
    for (i = 0; i < 2 * H; ++i) lo[i] = -2, hi[i] = 2;
    for (i = 0; i < B * 4; ++i) x0[i] = (i % 4 == 2) ? 0.3 : 0;
    o.iterations = ITERS, o.lower = lo, o.upper = hi;
    dopt_mpc_cem_create_d(NULL, &dims, &c, NULL);
    /* a warm-up plan recording its action sequences (the replay's input) */
    for (i = 0; i < B * 2 * H; ++i) mean[i] = 0, std[i] = 1;
    dopt_mpc_cem_seed_d(c, 0, 0);
    k.record = 1;
    dopt_mpc_cem_plan_d(c, &o, &dyn, x0, 4, mean, 2 * H, std, 2 * H, NULL, 0, NULL, NULL, NULL);
    k.record = 0;
    /* then the plan (same seed, same samples) and the rollouts of its samples alone, alternately */
    for (rep = 0; rep < 9; ++rep) {
        double t0, t, r, nrm;
        for (i = 0; i < B * 2 * H; ++i) mean[i] = 0, std[i] = 1;
        dopt_mpc_cem_seed_d(c, 0, 0);
        t0 = now();
        dopt_mpc_cem_plan_d(c, &o, &dyn, x0, 4, mean, 2 * H, std, 2 * H, NULL, 0, NULL, NULL, NULL);
        t = now() - t0;
        r = car_replay(&k, P, H, x0);
        best = t < best ? t : best;
        best_obj = r < best_obj ? r : best_obj;
        olo = 1 - r / t < olo ? 1 - r / t : olo;
        ohi = 1 - r / t > ohi ? 1 - r / t : ohi;
        nrm = time_normals(c, P, 2 * H);
        best_nrm = nrm < best_nrm ? nrm : best_nrm;
    }
    printf("dopt cem_car_H20_P%d time_s=%.6e obj_s=%.6e normals_s=%.6e overhead_lo=%.3f overhead_hi=%.3f\n", P,
           best / ITERS, best_obj / ITERS, best_nrm, olo, ohi);
    dopt_mpc_cem_destroy_d(c);
    free(k.tape);
}

static void bench_dcem(int D, int P)
{
    dopt_mpc_cem_dims dims = {B, D, P, P / 10, 0, ITERS};
    dopt_mpc_cem_d *c;
    dopt_mpc_cem_options_d o = dopt_mpc_cem_default_options_d();
    quad q = {0.5, 0, 0};
    dopt_mpc_cem_objective_d obj = {quad_cost, quad_vjp, NULL};
    double *mean = (double *)malloc(sizeof(double) * B * D), *std = (double *)malloc(sizeof(double) * B * D);
    double *g = (double *)malloc(sizeof(double) * B * D), *gm0 = (double *)malloc(sizeof(double) * B * D);
    double best = 1e300, best_obj = 0, best_nrm = 1e300;
    int rep, i;
    obj.user = &q;
    o.iterations = ITERS;
    o.temperature = 1;
    dopt_mpc_cem_create_d(NULL, &dims, &c, NULL);
    for (i = 0; i < B * D; ++i) g[i] = 1;
    for (rep = 0; rep < 7; ++rep) {
        double t0, t;
        for (i = 0; i < B * D; ++i) mean[i] = 0, std[i] = 1;
        q.time = 0;
        t0 = now();
        dopt_mpc_dcem_forward_d(c, &o, &obj, mean, D, std, D, NULL, NULL);
        dopt_mpc_dcem_backward_d(c, &obj, g, D, NULL, 0, gm0, D, NULL, 0, NULL);
        t = now() - t0;
        if (t < best) best = t, best_obj = q.time;
        t = ITERS * time_normals(c, P, D); /* the normals of the ITERS iterations */
        best_nrm = t < best_nrm ? t : best_nrm;
    }
    printf("dopt dcem_D%d_P%d time_s=%.6e obj_s=%.6e normals_s=%.6e\n", D, P, best, best_obj, best_nrm);
    dopt_mpc_cem_destroy_d(c);
    free(mean), free(std), free(g), free(gm0);
}

static void bench_lml(int n)
{
    double *x = (double *)malloc(sizeof(double) * B * n), *y = (double *)malloc(sizeof(double) * B * n);
    double *gy = (double *)malloc(sizeof(double) * B * n), *gx = (double *)malloc(sizeof(double) * B * n);
    double best = 1e300;
    dopt_rng rng;
    int rep, i, inner = n <= 10 ? 2000 : n <= 100 ? 200 : 20;
    dopt_rng_seed(&rng, 1, 0);
    for (i = 0; i < B * n; ++i) x[i] = dopt_rng_normal_d(&rng), gy[i] = dopt_rng_normal_d(&rng);
    for (rep = 0; rep < 7; ++rep) {
        double t0 = now(), t;
        int r;
        for (r = 0; r < inner; ++r) {
            dopt_mpc_lml_d(B, n, (double)(n / 10 > 0 ? n / 10 : 1), x, n, y, n, NULL, NULL, NULL);
            dopt_mpc_lml_backward_d(B, n, y, n, gy, n, gx, n, NULL);
        }
        t = (now() - t0) / inner;
        if (t < best) best = t;
    }
    printf("dopt lml_n%d time_s=%.6e\n", n, best);
    free(x), free(y), free(gy), free(gx);
}

/* Optional argument: run only the cases whose name starts with it (cem_quad, cem_car, dcem, lml). */
int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : "";
    printf("# dopt kernel family: %s\n", dopt_kernel_family());
#define RUN(prefix, call) if (!strncmp(only, prefix, strlen(only)) || !strncmp(prefix, only, strlen(prefix))) call
    RUN("cem_quad", (bench_cem_quad(10, 100), bench_cem_quad(10, 1000), bench_cem_quad(50, 100), bench_cem_quad(50, 1000)));
    RUN("cem_car", (bench_cem_car(100), bench_cem_car(1000)));
    RUN("dcem", (bench_dcem(10, 100), bench_dcem(10, 1000)));
    RUN("lml", (bench_lml(10), bench_lml(100), bench_lml(1000)));
#undef RUN
    return 0;
}
