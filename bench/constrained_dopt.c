/* bench/constrained_dopt.c — dopt's side of bench/constrained.sh: the bound-constrained curve
 * fit of constrained_data.h (one R^3 variable, CB_N one-row costs, dense Cholesky), solved
 * CB_REPEAT times from the same start (solver made once: the analysis is not timed per solve;
 * process CPU time).
 * Prints `result solver=dopt ... time_s=<per solve> final_cost=... x=a,b,c`.
 * Build: cc -std=c99 -O3 -march=native -I. bench/constrained_dopt.c -lm */
#define _POSIX_C_SOURCE 200809L
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "bench/constrained_data.h"
#include <stdio.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* process CPU time: the machine is shared */
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct pt { double t, y; } pt;

static dopt_status model(const void *data, const double *const *x, double *r, double *const *J)
{
    const pt *q = (const pt *)data;
    double e = exp(-x[0][1] * q->t);
    r[0] = x[0][0] * e + x[0][2] - q->y;
    if (J && J[0]) { J[0][0] = e; J[0][1] = -x[0][0] * q->t * e; J[0][2] = 1; }
    return DOPT_OK;
}

int main(void)
{
    static double t[CB_N], y[CB_N];
    static pt pts[CB_N];
    dopt_nlls_problem_d *p;
    dopt_nlls_solver_d *s;
    dopt_nlls_options_d o;
    dopt_nlls_report rep;
    dopt_manifold_d R3 = dopt_manifold_euclidean_d(3);
    double x[3], t0, best = 1e30;
    int v, i, r, it = 0;
    cb_data(t, y);
    if (dopt_nlls_problem_create_d(NULL, 1, &p)) return 1;
    dopt_nlls_add_variable_d(p, &R3, &v);
    for (i = 0; i < CB_N; ++i) {
        dopt_nlls_cost_desc_d d;
        pts[i].t = t[i]; pts[i].y = y[i];
        memset(&d, 0, sizeof d);
        d.fn = model; d.data = &pts[i]; d.rdim = 1; d.nvars = 1; d.vars = &v;
        dopt_nlls_add_cost_d(p, &d, NULL);
    }
    dopt_nlls_set_bounds_d(p, v, cb_lo, cb_hi, 0);
    if (dopt_nlls_solver_create_d(p, NULL, &s, NULL)) return 1;
    memset(&o, 0, sizeof o);
    o.max_iterations = 100;
    o.function_tolerance = 1e-10;   /* tight: both sides must reach the same cost */
    o.gradient_tolerance = 1e-10;
    for (r = 0; r < 5; ++r) {       /* best of 5 rounds of CB_REPEAT solves */
        t0 = now_s();
        for (i = 0; i < CB_REPEAT; ++i) {
            memcpy(x, cb_x0, sizeof x);
            if (dopt_nlls_solve_d(s, &o, x, 0, &rep, NULL, NULL) != DOPT_OK) return 1;
        }
        t0 = (now_s() - t0) / CB_REPEAT;
        if (t0 < best) best = t0;
        it = rep.iterations;
    }
    printf("result solver=dopt iterations=%d final_cost=%.12g time_s=%.9f x=%.10g,%.10g,%.10g active=%d\n", it,
           rep.final_cost, best, x[0], x[1], x[2], rep.active_bounds);
    dopt_nlls_solver_destroy_d(s);
    dopt_nlls_problem_destroy_d(p);
    return 0;
}
