/* qp_layer.c — learning the constraints of a projection through dopt's differentiable QP.
 *
 * A hidden "teacher" maps a point y in R^4 to its Euclidean projection onto a polytope,
 *     x*(y) = argmin 1/2 |x - y|^2   s.t.  G x <= h*,  l* <= x <= u*,
 * with G known (3 rows) and h*, l*, u* unknown.  The student starts from a polytope that is too
 * small (so every constraint is active for some points and gets a gradient: a constraint that is
 * never active has zero derivative) and learns (h, l, u) by gradient descent on the mean squared error |x(y) - x*(y)|^2 over
 * batches of 64 points, where dL/dh, dL/dl, dL/du come from dopt_mpc_qp_backward_d (the OptNet
 * pass: the projection's KKT conditions differentiated at the solution).  The loss per epoch
 * falls towards zero as the learned polytope approaches the teacher's.  (A teacher row that
 * never binds inside the teacher's box cannot be identified: its learned value only has to keep
 * it inactive.)
 *
 *     cc -std=c99 -O2 -I. examples/qp_layer.c -o qp_layer -lm && ./qp_layer
 */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_mpc.h"
#include <stdio.h>

#define N 4
#define MI 3
#define B 64

int main(void)
{
    double G[MI * N], h_true[MI] = {0.6, 0.5, 0.8}, l_true[N] = {-0.7, -0.9, -0.5, -0.8}, u_true[N] = {0.8, 0.6, 0.9, 0.7};
    double h[MI] = {0.2, 0.2, 0.2}, l[N] = {-0.3, -0.3, -0.3, -0.3}, u[N] = {0.3, 0.3, 0.3, 0.3};
    double Q[N * N] = {0}, P[B * N], X[B * N], Xt[B * N], gX[B * N], gh[MI], gl[N], gu[N];
    dopt_mpc_qp_dims dims = {N, 0, MI, 1, 0};
    dopt_mpc_qp_d *qp = NULL;
    dopt_mpc_qp_data_d teacher = {0}, student = {0};
    dopt_mpc_qp_grad_d grad = {0};
    dopt_rng rng;
    dopt_errinfo info;
    double lr = 0.5, first = 0, last = 0;
    int i, k, epoch;

    dopt_rng_seed(&rng, 7, 0);
    for (i = 0; i < N; ++i) Q[i + i * N] = 1;
    for (i = 0; i < MI * N; ++i) G[i] = dopt_rng_normal_d(&rng) / 2;
    if (dopt_mpc_qp_create_d(NULL, &dims, B, &qp, NULL) != DOPT_OK) return 1;
    /* Q, G and the bounds are shared by the batch (stride 0); p = -y per point */
    teacher.Q = Q; teacher.p = P; teacher.p_stride = N; teacher.G = G;
    teacher.h = h_true; teacher.l = l_true; teacher.u = u_true;
    student = teacher;
    student.h = h; student.l = l; student.u = u;
    grad.h = gh; grad.l = gl; grad.u = gu;         /* stride 0: summed over the batch */

    for (epoch = 0; epoch < 60; ++epoch) {
        double loss = 0;
        int step;
        for (step = 0; step < 10; ++step) {
            for (i = 0; i < B * N; ++i) P[i] = -1.5 * dopt_rng_normal_d(&rng); /* y ~ N(0, 1.5^2) */
            if (dopt_mpc_qp_solve_d(qp, NULL, B, &teacher, Xt, N, NULL, &info) != DOPT_OK) { printf("teacher: %s (element %ld)\n", info.message, info.index); return 1; }
            if (dopt_mpc_qp_solve_d(qp, NULL, B, &student, X, N, NULL, &info) != DOPT_OK) { printf("solve: %s (element %ld)\n", info.message, info.index); return 1; }
            for (k = 0; k < B * N; ++k) {
                double r = X[k] - Xt[k];
                loss += r * r / (B * 10);
                gX[k] = 2 * r / B;
            }
            if (dopt_mpc_qp_backward_d(qp, NULL, B, &student, gX, N, &grad, NULL, &info) != DOPT_OK) { printf("backward: %s (element %ld) %s\n", info.message, info.index, dopt_status_string(info.status)); return 1; }
            for (i = 0; i < MI; ++i) h[i] -= lr * gh[i];
            for (i = 0; i < N; ++i) {
                l[i] -= lr * gl[i];
                u[i] -= lr * gu[i];
                if (l[i] > u[i] - 0.01) l[i] = u[i] - 0.01; /* keep the box non-empty */
            }
        }
        if (epoch == 0) first = loss;
        last = loss;
        if (epoch % 5 == 0 || epoch == 59) printf("epoch %2d  loss %.3e\n", epoch, loss);
    }
    printf("h learned %.3f %.3f %.3f   (teacher %.3f %.3f %.3f)\n", h[0], h[1], h[2], h_true[0], h_true[1], h_true[2]);
    printf("u learned %.3f %.3f %.3f %.3f   (teacher %.3f %.3f %.3f %.3f)\n", u[0], u[1], u[2], u[3], u_true[0],
           u_true[1], u_true[2], u_true[3]);
    printf("l learned %.3f %.3f %.3f %.3f   (teacher %.3f %.3f %.3f %.3f)\n", l[0], l[1], l[2], l[3], l_true[0],
           l_true[1], l_true[2], l_true[3]);
    printf("loss fell from %.3e to %.3e\n", first, last);
    dopt_mpc_qp_destroy_d(qp);
    return last < first ? 0 : 1;
}
