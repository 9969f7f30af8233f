/* bench/almpc_dopt.c — dopt's side of `make bench-almpc`: the augmented-Lagrangian MPC solver
 * (dopt_mpc_al_solve_d) on the obstacle car (T = 50) and the cart-pole swing-up with a track
 * limit (T = 100), problems of tests/almpc_problems.h, batch 1 and 64, cold (u = 0) and warm
 * (after a one-step shift: x_init <- x_1 of the cold solution, controls shifted; "warm" resets
 * the duals and penalty as the thesis does, "warmd" keeps them).  Prints per case
 *   dopt <case> time_s=<best of reps, process CPU time of the solve of the whole batch> outer=.. inner=..
 *   cost=<element 0> viol=<max over the batch> ok=<elements converged>/<B>
 * then (batch 1) "rh": a receding-horizon loop of 20 one-step shifts with the duals kept, time_s the
 * mean per step, cost the last step's, viol the worst;
 * and writes element 0's cold solution of each problem to <dir>/almpc_<problem>_tau.txt.
 * Usage: almpc_dopt <reps> <dir> */
#define _POSIX_C_SOURCE 199309L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#define ALMPC_REAL double
#define ALMPC_FN(x) x##_d
#include "../tests/almpc_problems.h"
#define RH_STEPS 20

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Initial states as bench/almpc_casadi.py's starts(). */
static void starts(int car, int B, double *x0)
{
    int b;
    for (b = 0; b < B; ++b) {
        double s = b ? 0.1 * sin(1.7 * b + 0.3) : 0, c = b ? 0.1 * cos(2.3 * b + 0.1) : 0;
        double *x = x0 + 4 * b;
        x[0] = s; x[1] = car ? c : 0; x[2] = car ? 0 : 3.14159265358979323846 + c; x[3] = 0;
    }
}

static void run(const char *name, int car, int T, int m, int ni, const dopt_mpc_al_problem_d *p, int B, int reps,
                const char *dir)
{
    const int N = 4 + m;
    dopt_mpc_al_d *s;
    dopt_mpc_al_report_d *r = (dopt_mpc_al_report_d *)malloc(sizeof *r * (size_t)B);
    double *x0 = (double *)malloc(sizeof(double) * 4 * (size_t)B), *x1 = (double *)malloc(sizeof(double) * 4 * (size_t)B);
    double *tau = (double *)malloc(sizeof(double) * (size_t)(N * T * B)), *cold = (double *)malloc(sizeof(double) * (size_t)(N * T * B));
    double best[3] = {1e30, 1e30, 1e30};
    dopt_mpc_al_report_d keep[3];
    double viol[3] = {0, 0, 0};
    int okc[3] = {0, 0, 0}, mode, rep, b, i, outer[3] = {0, 0, 0}, inner[3] = {0, 0, 0};
    dopt_mpc_cseq_d xs, xs1;
    dopt_mpc_seq_d ts;
    static const char *mname[3] = {"cold", "warm", "warmd"};
    starts(car, B, x0);
    xs.p = x0; xs.ts = 0; xs.bs = 4;
    xs1 = xs; xs1.p = x1;
    ts.p = tau; ts.ts = N; ts.bs = (ptrdiff_t)N * T;
    if (dopt_mpc_al_create_d(NULL, 4, m, T, ni, 0, B, &s, NULL) != DOPT_OK) { printf("# create failed\n"); exit(1); }
    for (rep = 0; rep < reps; ++rep)
        for (mode = 0; mode < 3; ++mode) {
            dopt_mpc_al_options_d o;
            double t0, t1;
            memset(&o, 0, sizeof o);
            for (i = 0; i < N * T * B; ++i) tau[i] = 0;
            t0 = now();
            dopt_mpc_al_solve_d(s, p, xs, &o, ts, r, NULL);
            t1 = now();
            if (mode == 0) {
                memcpy(cold, tau, sizeof(double) * (size_t)(N * T * B));
            } else {
                for (b = 0; b < B; ++b)
                    for (i = 0; i < 4; ++i) x1[4 * b + i] = tau[(size_t)b * N * T + N + i];
                o.warm_start = DOPT_MPC_WARM_SHIFT;
                o.keep_duals = mode == 2;
                t0 = now();
                dopt_mpc_al_solve_d(s, p, xs1, &o, ts, r, NULL);
                t1 = now();
            }
            if (t1 - t0 < best[mode]) best[mode] = t1 - t0;
            keep[mode] = r[0];
            viol[mode] = 0; okc[mode] = 0; outer[mode] = inner[mode] = 0;
            for (b = 0; b < B; ++b) {
                if (r[b].violation > viol[mode]) viol[mode] = r[b].violation;
                okc[mode] += r[b].status == DOPT_OK;
                outer[mode] += r[b].outer_iterations;
                inner[mode] += r[b].inner_iterations;
            }
        }
    for (mode = 0; mode < 3; ++mode)
        printf("dopt %s_B%d_%s time_s=%.6e outer=%d inner=%d cost=%.9g viol=%.2e ok=%d/%d\n", name, B, mname[mode],
               best[mode], outer[mode], inner[mode], keep[mode].cost, viol[mode], okc[mode], B);
    if (B == 1) { /* a receding-horizon loop of RH_STEPS one-step shifts from the cold solution, duals kept */
        dopt_mpc_al_options_d o;
        double tot = 0, worst = 0, t0;
        int k, sum_in = 0, sum_out = 0, ok = 0;
        memcpy(tau, cold, sizeof(double) * (size_t)(N * T));
        memset(&o, 0, sizeof o);
        for (i = 0; i < N * T; ++i) tau[i] = 0;
        dopt_mpc_al_solve_d(s, p, xs, &o, ts, r, NULL); /* the cold solve's duals */
        o.warm_start = DOPT_MPC_WARM_SHIFT;
        o.keep_duals = 1;
        for (k = 0; k < RH_STEPS; ++k) {
            for (i = 0; i < 4; ++i) x1[i] = tau[N + i];
            t0 = now();
            dopt_mpc_al_solve_d(s, p, xs1, &o, ts, r, NULL);
            tot += now() - t0;
            sum_in += r[0].inner_iterations;
            sum_out += r[0].outer_iterations;
            ok += r[0].status == DOPT_OK;
            if (r[0].violation > worst) worst = r[0].violation;
        }
        printf("dopt %s_B1_rh time_s=%.6e outer=%d inner=%d cost=%.9g viol=%.2e ok=%d/%d\n", name, tot / RH_STEPS,
               sum_out, sum_in, r[0].cost, worst, ok, RH_STEPS);
    }
    if (B == 1 && dir) {
        char path[1024];
        FILE *f;
        snprintf(path, sizeof path, "%s/almpc_%s_tau.txt", dir, name);
        if ((f = fopen(path, "w")) != NULL) {
            for (i = 0; i < N * T; ++i) fprintf(f, "%.17g\n", cold[i]);
            fclose(f);
        }
    }
    fflush(stdout);
    dopt_mpc_al_destroy_d(s);
    free(r); free(x0); free(x1); free(tau); free(cold);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 3, B64 = argc > 3 ? atoi(argv[3]) : 1;
    const char *dir = argc > 2 ? argv[2] : NULL;
    static const double car_lo[2] = {-2, -1}, car_hi[2] = {2, 1}, cp_lo[1] = {-10}, cp_hi[1] = {10};
    almpc_car_d car;
    almpc_cartpole_d cp;
    dopt_mpc_al_problem_d pc, pp;
    almpc_car_default_d(&car);
    almpc_car_problem_d(&car, car_lo, car_hi, &pc);
    almpc_cartpole_default_d(&cp);
    almpc_cartpole_problem_d(&cp, cp_lo, cp_hi, &pp);
    printf("# dopt %s, dopt_mpc_al_solve_d, default options (tol_violation 1e-7, inner_tol 1e-6)\n", DOPT_VERSION_STRING);
    run("car", 1, 50, 2, 3, &pc, 1, reps, dir);
    if (B64) run("car", 1, 50, 2, 3, &pc, 64, 1, dir);
    run("cartpole", 0, 100, 1, 2, &pp, 1, reps, dir);
    if (B64) run("cartpole", 0, 100, 1, 2, &pp, 64, 1, dir);
    return 0;
}
