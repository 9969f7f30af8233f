/* deq_train.c — train a deep-equilibrium classifier on the two-spirals problem in plain C.
 *
 *   cc -std=c99 -O2 -I.. deq_train.c -o deq_train -lm && ./deq_train      (from examples/)
 *
 * Model: z* = tanh(W z* + U x + b) (hidden n = 32, input x in R^2), logit = v . z* + c, logistic
 * loss.  Forward: Anderson acceleration (dopt_deq_solve); backward: the implicit function theorem
 * (dopt_deq_tanh_backward) for dL/dW, dU, db; dL/dv, dL/dc by hand; Adam written below.  After
 * each step W is projected back to spectral norm <= 0.95 (power iteration) so the layer stays a
 * contraction.  Every epoch also counts Picard's iterations for the same parameters, to show
 * what the accelerated solver saves.  Writes deq_train.svg (the loss per epoch) and
 * deq_train_iterations.svg (iterations per forward, Anderson and Picard, over training). */
#define DOPT_IMPLEMENTATION
#include "dopt_deq.h"
#include "svg_plot.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPTS 256 /* the batch: every point, every step */
#define HID 32
#define EPOCHS 300
#define PI_ 3.14159265358979323846

typedef struct adam { double *m, *v; int len; } adam;

static adam adam_new(int len)
{
    adam a;
    a.m = (double *)calloc((size_t)len, sizeof(double));
    a.v = (double *)calloc((size_t)len, sizeof(double));
    a.len = len;
    return a;
}

/* one Adam step on w with gradient g (lr, beta1 0.9, beta2 0.999) */
static void adam_step(adam *a, double *w, const double *g, double lr, int t)
{
    const double b1 = 0.9, b2 = 0.999, c1 = 1 - pow(b1, t), c2 = 1 - pow(b2, t);
    int i;
    for (i = 0; i < a->len; ++i) {
        a->m[i] = b1 * a->m[i] + (1 - b1) * g[i];
        a->v[i] = b2 * a->v[i] + (1 - b2) * g[i] * g[i];
        w[i] -= lr * (a->m[i] / c1) / (sqrt(a->v[i] / c2) + 1e-8);
    }
}

/* keep ||W||_2 <= cap: a few power iterations (warm-started in u) and a rescale */
static void project_spectral(double *W, int n, double cap, double *u)
{
    double w[HID], s = 0;
    int it, i;
    for (it = 0; it < 5; ++it) {
        dopt_gemv_d(DOPT_NOTRANS, n, n, 1, W, n, u, 1, 0, w, 1);
        dopt_gemv_d(DOPT_TRANS, n, n, 1, W, n, w, 1, 0, u, 1);
        s = sqrt(dopt_dot_d(n, u, 1, u, 1));
        for (i = 0; i < n; ++i) u[i] /= s;
    }
    s = sqrt(s);
    if (s > cap)
        for (i = 0; i < n * n; ++i) W[i] *= cap / s;
}

/* deq_train.svg: the loss per epoch; deq_train_iterations.svg: iterations per forward solve */
static void write_svg(const double *loss, const double *it_a, const double *it_p, int epochs)
{
    double ep[EPOCHS], lo = 0, hi = 0;
    svg_plot p;
    int e;
    for (e = 0; e < epochs; ++e) ep[e] = e;
    svg_range(loss, epochs, 1, &lo, &hi); /* from 0 up */
    if (svg_open(&p, "deq_train.svg", 560, 340, "DEQ training loss", "epoch", "loss") == 0) {
        svg_axes(&p, 0, epochs - 1, 0, hi);
        svg_line(&p, ep, loss, epochs, SVG_RED, "training loss");
        svg_close(&p);
    }
    lo = hi = 0;
    svg_range(it_a, epochs, 1, &lo, &hi);
    svg_range(it_p, epochs, 1, &lo, &hi);
    if (svg_open(&p, "deq_train_iterations.svg", 560, 340, "iterations per forward solve", "epoch",
                 "iterations") == 0) {
        svg_axes(&p, 0, epochs - 1, 0, hi);
        svg_line(&p, ep, it_p, epochs, SVG_GREY, "Picard");
        svg_line(&p, ep, it_a, epochs, SVG_BLUE, "Anderson");
        svg_close(&p);
    }
}

/* mean iterations over the batch of one forward solve (from 0) with the given method */
static double forward(dopt_deq_solver_d *s, dopt_deq_tanh_d *layer, double *z, dopt_deq_report *rep, int *ok)
{
    double mean = 0;
    int b;
    memset(z, 0, sizeof(double) * HID * NPTS);
    *ok = dopt_deq_solve_d(s, dopt_deq_tanh_map_d, layer, z, HID, rep, NULL, 0, NULL) == DOPT_OK;
    for (b = 0; b < NPTS; ++b) mean += rep[b].iterations;
    return mean / NPTS;
}

int main(void)
{
    static double X[2 * NPTS], Y[NPTS], Z[HID * NPTS], G[HID * NPTS];
    static double loss_hist[EPOCHS], it_anderson[EPOCHS], it_picard[EPOCHS];
    static dopt_deq_report rep[NPTS];
    double W[HID * HID], U[HID * 2], bias[HID], v[HID], c = 0, u_pow[HID];
    double dW[HID * HID], dU[HID * 2], db[HID], dv[HID], dc;
    dopt_deq_options oa = {0}, op = {0};
    dopt_deq_solver_d *anderson, *picard;
    dopt_deq_tanh_d *layer;
    adam aW = adam_new(HID * HID), aU = adam_new(HID * 2), ab = adam_new(HID), av = adam_new(HID), ac = adam_new(1);
    dopt_rng rng;
    int i, b, epoch, ok;
    double acc = 0;

    /* two spirals, 128 points each, a little noise */
    dopt_rng_seed(&rng, 7, 0);
    for (i = 0; i < NPTS / 2; ++i) {
        double t = 0.25 + 2.75 * PI_ * i / (NPTS / 2), r = t / (3 * PI_);
        for (b = 0; b < 2; ++b) {
            int k = 2 * i + b;
            double sgn = b ? -1 : 1;
            X[2 * k] = sgn * r * cos(t) + 0.02 * dopt_rng_normal_d(&rng);
            X[2 * k + 1] = sgn * r * sin(t) + 0.02 * dopt_rng_normal_d(&rng);
            Y[k] = b;
        }
    }
    for (i = 0; i < HID * HID; ++i) W[i] = 0.5 * dopt_rng_normal_d(&rng) / sqrt((double)HID);
    for (i = 0; i < HID * 2; ++i) U[i] = 3.0 * dopt_rng_normal_d(&rng);
    for (i = 0; i < HID; ++i) { bias[i] = 0.5 * dopt_rng_normal_d(&rng); v[i] = 0.1 * dopt_rng_normal_d(&rng); u_pow[i] = 1; }
    project_spectral(W, HID, 0.95, u_pow);

    oa.method = DOPT_DEQ_ANDERSON;
    oa.max_iters = 200;
    oa.rel_tol = 1e-6;
    op = oa;
    op.method = DOPT_DEQ_PICARD;
    op.max_iters = 2000;
    if (dopt_deq_solver_create_d(NULL, HID, NPTS, &oa, &anderson, NULL) != DOPT_OK ||
        dopt_deq_solver_create_d(NULL, HID, NPTS, &op, &picard, NULL) != DOPT_OK ||
        dopt_deq_tanh_create_d(NULL, HID, 2, NPTS, &layer, NULL) != DOPT_OK)
        return 1;

    printf("epoch   loss    accuracy  iterations/forward: anderson  picard\n");
    for (epoch = 0; epoch < EPOCHS; ++epoch) {
        double loss = 0;
        dopt_deq_tanh_set_d(layer, W, U, bias, X, 2, NULL);
        it_picard[epoch] = forward(picard, layer, Z, rep, &ok);
        it_anderson[epoch] = forward(anderson, layer, Z, rep, &ok);
        if (!ok) { fprintf(stderr, "epoch %d: forward did not converge\n", epoch); return 1; }
        /* logistic loss and its gradient with respect to z*, v, c */
        memset(dv, 0, sizeof dv);
        dc = 0;
        acc = 0;
        for (b = 0; b < NPTS; ++b) {
            double s = c + dopt_dot_d(HID, v, 1, Z + b * HID, 1), p = 1 / (1 + exp(-s)), e = (p - Y[b]) / NPTS;
            loss += (s > 0 ? s : 0) - s * Y[b] + log1p(exp(-fabs(s)));
            acc += (p > 0.5) == (Y[b] > 0.5);
            for (i = 0; i < HID; ++i) { G[b * HID + i] = e * v[i]; dv[i] += e * Z[b * HID + i]; }
            dc += e;
        }
        loss /= NPTS;
        acc /= NPTS;
        loss_hist[epoch] = loss;
        memset(dW, 0, sizeof dW); memset(dU, 0, sizeof dU); memset(db, 0, sizeof db);
        if (dopt_deq_tanh_backward_d(layer, anderson, NULL, Z, HID, G, HID, dW, dU, db, NULL, 0, NULL, NULL) != DOPT_OK) {
            fprintf(stderr, "epoch %d: backward did not converge\n", epoch);
            return 1;
        }
        adam_step(&aW, W, dW, 0.01, epoch + 1);
        adam_step(&aU, U, dU, 0.01, epoch + 1);
        adam_step(&ab, bias, db, 0.01, epoch + 1);
        adam_step(&av, v, dv, 0.01, epoch + 1);
        adam_step(&ac, &c, &dc, 0.01, epoch + 1);
        project_spectral(W, HID, 0.95, u_pow);
        if (epoch % 25 == 0 || epoch == EPOCHS - 1)
            printf("%5d  %.4f   %5.1f%%    %26.1f  %6.1f\n", epoch, loss, 100 * acc, it_anderson[epoch], it_picard[epoch]);
    }
    write_svg(loss_hist, it_anderson, it_picard, EPOCHS);
    printf("loss %.4f -> %.4f, accuracy %.1f%%; wrote deq_train.svg and deq_train_iterations.svg\n", loss_hist[0], loss_hist[EPOCHS - 1], 100 * acc);
    dopt_deq_solver_destroy_d(anderson);
    dopt_deq_solver_destroy_d(picard);
    dopt_deq_tanh_destroy_d(layer);
    free(aW.m); free(aW.v); free(aU.m); free(aU.v); free(ab.m); free(ab.v); free(av.m); free(av.v); free(ac.m); free(ac.v);
    return loss_hist[EPOCHS - 1] < loss_hist[0] ? 0 : 1;
}
