/* examples/game_loop.c — what an engine programmer writes: a fixed-step 60 Hz simulation whose
 * controller is an MPC solved every frame.
 *
 * A cart-pole (dopt_mpc_cartpole, float, as engines use) balances its pole while its cart is sent
 * to a new target at 3 s and its pole is kicked at 6 s.  Every frame the controller solves a
 * 60-step (1 s) iLQR problem with a force limit, warm-started from the last frame's plan shifted
 * by one step, and applies the first force; the "engine" integrates the true dynamics with four
 * substeps per frame.  Every workspace is made before the loop, through a counting allocator
 * hook, and the program prints the per-frame solve time (median, p99, max) and the number of heap
 * allocations inside the loop, which must be 0 (tests/test_game_loop.c asserts it).
 * Writes game_loop.svg (cart position, pole angle and force over time).
 *   cc -std=c99 -O2 -I. examples/game_loop.c -lm && ./a.out */
#if !defined(_POSIX_C_SOURCE) && !defined(_WIN32)
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#endif
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include "svg_plot.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define GL_HZ 60
#define GL_HORIZON 60
#define GL_SUBSTEPS 4
#define GL_MAX_FRAMES 1200

/* the allocator hook: counts every allocation, and those made while `in_loop` is set */
typedef struct gl_counter { long total, in_loop; int loop; } gl_counter;
static void *gl_alloc(void *user, size_t size)
{
    gl_counter *c = (gl_counter *)user;
    c->total++;
    c->in_loop += c->loop;
    return malloc(size);
}
static void *gl_realloc(void *user, void *ptr, size_t old_size, size_t new_size)
{
    gl_counter *c = (gl_counter *)user;
    (void)old_size;
    c->total++;
    c->in_loop += c->loop;
    return realloc(ptr, new_size);
}
static void gl_free(void *user, void *ptr, size_t size) { (void)user; (void)size; free(ptr); }

/* the controller's stage cost: 1/2 (wp (p - target)^2 + wv v^2 + wt theta^2 + ww omega^2 + r u^2),
 * 30 times heavier at the last step of the horizon */
typedef struct gl_task { dopt_mpc_cartpole_f model; float target; } gl_task;
static dopt_status gl_cost(void *user, ptrdiff_t b, int t, const float *z, float *l, float *g, float *H)
{
    const gl_task *k = (const gl_task *)user;
    const float s = t == GL_HORIZON - 1 ? 30.0f : 1.0f;
    const float w[5] = {2 * s, 0.2f * s, 20 * s, 0.5f * s, 0.01f};
    float e[5];
    int i;
    (void)b;
    e[0] = z[0] - k->target; e[1] = z[1]; e[2] = z[2]; e[3] = z[3]; e[4] = z[4];
    *l = 0;
    for (i = 0; i < 5; ++i) *l += 0.5f * w[i] * e[i] * e[i];
    if (g) {
        for (i = 0; i < 25; ++i) H[i] = 0;
        for (i = 0; i < 5; ++i) { g[i] = w[i] * e[i]; H[i * 6] = w[i]; }
    }
    return DOPT_OK;
}

static double gl_now(void)
{
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

static int gl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* What one run reports. */
typedef struct gl_stats {
    long allocations_in_loop, allocations_total;
    double median_ms, p99_ms, max_ms;
    int failed_frames, limit_frames; /* solver errors; frames that hit the iteration limit */
    float final_state[4];
    double max_abs_angle_after_kick;  /* |theta| over the last second: balanced again?      */
} gl_stats;

/* gl_run: simulate `frames` frames (<= GL_MAX_FRAMES); hist (frames x 5: p, v, theta, omega, u)
 * may be NULL.  Returns 0, or 1 when the controller could not be created. */
static int gl_run(int frames, gl_stats *out, double *hist)
{
    static double solve_ms[GL_MAX_FRAMES];
    gl_counter counter = {0, 0, 0};
    dopt_hooks hooks;
    gl_task task;
    dopt_mpc_ilqr_problem_f pr;
    dopt_mpc_ilqr_options_f opt;
    dopt_mpc_ilqr_f *mpc;
    dopt_mpc_lqr_report_f rep;
    dopt_mpc_cseq_f x0;
    dopt_mpc_seq_f plan;
    dopt_mpc_cartpole_f plant;
    float lo = -15, hi = 15, x[4] = {0, 0, 0.15f, 0}, tau[GL_HORIZON * 5];
    int k, j;
    if (frames > GL_MAX_FRAMES) frames = GL_MAX_FRAMES;
    memset(&hooks, 0, sizeof hooks);
    hooks.allocator.alloc = gl_alloc;
    hooks.allocator.realloc = gl_realloc;
    hooks.allocator.free = gl_free;
    hooks.allocator.user = &counter;
    memset(&pr, 0, sizeof pr);
    memset(&opt, 0, sizeof opt);
    memset(&x0, 0, sizeof x0);
    memset(&plan, 0, sizeof plan);
    memset(tau, 0, sizeof tau);
    memset(out, 0, sizeof *out);
    task.model.g = 9.81f; task.model.m_cart = 1.0f; task.model.m_pole = 0.1f; task.model.l = 0.5f;
    task.model.dt = 1.0f / GL_HZ;
    task.target = 0;
    plant = task.model;
    plant.dt = task.model.dt / GL_SUBSTEPS;
    pr.n_state = 4; pr.n_ctrl = 1;
    pr.dynamics = dopt_mpc_cartpole_dynamics_f; pr.dynamics_jacobian = 1;
    pr.cost = gl_cost; pr.cost_derivatives = 1;
    pr.user = &task;
    pr.u_lower.p = &lo; pr.u_upper.p = &hi; /* strides 0: one bound for every step */
    x0.p = x;
    plan.p = tau; plan.ts = 5;
    opt.max_iter = 20; /* a frame budget: stop early, the next frame goes on from the plan */
    /* every workspace before the loop */
    if (dopt_mpc_ilqr_create_f(&hooks, 4, 1, GL_HORIZON, 1, &mpc, NULL) != DOPT_OK) return 1;

    counter.loop = 1;
    for (k = 0; k < frames; ++k) {
        double t0;
        dopt_status st;
        float u;
        if (k == 3 * GL_HZ) task.target = 1.0f;   /* gameplay: move the cart */
        if (k == 6 * GL_HZ) x[3] += 1.5f;          /* gameplay: kick the pole */
        t0 = gl_now();
        st = dopt_mpc_ilqr_solve_f(mpc, &pr, x0, &opt, plan, &rep, NULL);
        solve_ms[k] = 1e3 * (gl_now() - t0);
        if (st == DOPT_ERR_NO_CONVERGENCE) out->limit_frames++;
        else if (st != DOPT_OK) out->failed_frames++;
        u = tau[4];
        if (hist) {
            for (j = 0; j < 4; ++j) hist[k * 5 + j] = x[j];
            hist[k * 5 + 4] = u;
        }
        for (j = 0; j < GL_SUBSTEPS; ++j) { /* the engine's physics step */
            float xn[4];
            dopt_mpc_cartpole_dynamics_f(&plant, 0, 0, x, &u, xn, NULL);
            memcpy(x, xn, sizeof x);
        }
        if (k >= frames - GL_HZ && fabs(x[2]) > out->max_abs_angle_after_kick)
            out->max_abs_angle_after_kick = fabs(x[2]);
        opt.warm_start = DOPT_MPC_WARM_SHIFT;
    }
    counter.loop = 0;

    out->allocations_in_loop = counter.in_loop;
    out->allocations_total = counter.total;
    memcpy(out->final_state, x, sizeof x);
    qsort(solve_ms, (size_t)frames, sizeof solve_ms[0], gl_cmp);
    out->median_ms = solve_ms[frames / 2];
    out->p99_ms = solve_ms[(frames * 99) / 100];
    out->max_ms = solve_ms[frames - 1];
    dopt_mpc_ilqr_destroy_f(mpc);
    return 0;
}

#ifndef GAME_LOOP_NO_MAIN
static void gl_plot(const double *hist, int frames)
{
    static double t[GL_MAX_FRAMES], f[GL_MAX_FRAMES];
    svg_plot p;
    int k;
    for (k = 0; k < frames; ++k) t[k] = (double)k / GL_HZ;
    if (svg_open(&p, "game_loop.svg", 720, 400, "cart-pole at 60 Hz, MPC every frame", "time (s)",
                 "state / force") != 0)
        return;
    svg_axes(&p, 0, t[frames - 1], -1.0, 1.6);
    svg_line_strided(&p, t, 1, hist + 0, 5, frames, SVG_BLUE, "cart position (m)", 0);
    svg_line_strided(&p, t, 1, hist + 2, 5, frames, SVG_RED, "pole angle (rad)", 0);
    for (k = 0; k < frames; ++k) f[k] = hist[k * 5 + 4] / 15; /* force scaled into the frame */
    svg_line(&p, t, f, frames, SVG_GREY, "force / 15 N");
    svg_close(&p);
    printf("wrote game_loop.svg\n");
}

int main(void)
{
    static double hist[GL_MAX_FRAMES * 5];
    const int frames = 10 * GL_HZ;
    gl_stats s;
    if (gl_run(frames, &s, hist) != 0) { printf("could not create the controller\n"); return 1; }
    printf("%d frames at %d Hz, iLQR horizon %d, warm-started; float\n", frames, GL_HZ, GL_HORIZON);
    printf("per-frame solve time: median %.3f ms, p99 %.3f ms, max %.3f ms (budget %.1f ms)\n", s.median_ms,
           s.p99_ms, s.max_ms, 1e3 / GL_HZ);
    printf("heap allocations inside the loop: %ld (before it: %ld)\n", s.allocations_in_loop,
           s.allocations_total - s.allocations_in_loop);
    printf("frames at the iteration limit: %d, failed: %d\n", s.limit_frames, s.failed_frames);
    printf("final cart position %.3f m (target 1), pole angle %.4f rad\n", s.final_state[0], s.final_state[2]);
    gl_plot(hist, frames);
    return s.allocations_in_loop == 0 && s.failed_frames == 0 && fabs(s.final_state[2]) < 0.05 &&
                   fabs(s.final_state[0] - 1) < 0.2 ? 0 : 1;
}
#endif
