/* examples/pgo_graph.h — pose graphs for dopt's least-squares layer: a g2o reader/writer
 * (VERTEX_SE2/EDGE_SE2, VERTEX_SE3:QUAT/EDGE_SE3:QUAT) and a problem builder for a batch of
 * graphs with one structure, on dopt_lie.h's manifolds (x ⊕ d = x · Exp(d)) and its between
 * cost r = Log(z^-1 · xi^-1 · xj) with analytic tangent Jacobians.  Used by examples/pgo.c,
 * bench/pgo_dopt.c and bench/latency.c.  Double.
 *
 * Storage is dopt_lie.h's: SE2 pose [x y cos sin] (the files' theta is converted on reading and
 * writing), tangent [vx vy w]; SE3 pose [tx ty tz qx qy qz qw], tangent [vx vy vz wx wy wz]
 * (g2o's information order).  An edge's measurement z is stored the same way, laid out as
 * dopt_lie_between_data_d, which the costs read directly.  With quat_residual the Ceres
 * examples' residuals replace the group log (below).  The cost's weight is the square root of
 * the edge information (upper Cholesky factor; an indefinite information is replaced by its
 * positive semidefinite part, as the bench's Ceres anchor does). */
#ifndef PGO_GRAPH_H
#define PGO_GRAPH_H
#ifndef EX_UNUSED
#if defined(__GNUC__) || defined(__clang__)
#define EX_UNUSED __attribute__((unused))
#else
#define EX_UNUSED
#endif
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "dopt_lie.h" /* the SE3 manifold and between cost */

#define PGO_PI 3.14159265358979323846

typedef struct pgo_edge {
    int i, j;          /* vertex indices (not ids) */
    double z[8];       /* SE2: dx dy cos sin; SE3: t, q (xyzw): dopt_lie_between_data_d's layout
                          (the group-log costs read it directly); the rest unused */
    double W[36];      /* square-root information, row-major n x n (n = 3 or 6) */
    double info[36];   /* information as read, full symmetric row-major */
    double wdiag[6];   /* the diagonal of W (used when every W of the problem is diagonal) */
} pgo_edge;

typedef struct pgo_graph {
    int dim;           /* 2 or 3 */
    int sd, td;        /* stored reals (4 or 7), tangent reals (3 or 6) per pose */
    int nv, ne;
    int *id;           /* nv: g2o id of each vertex */
    double *x;         /* nv * sd */
    pgo_edge *e;
    int has_vertices;
    int quat_residual; /* 1 = Ceres' example residuals (pgo_se2_between_ceres / pgo_se3_between_quat) */
} pgo_graph;

static EX_UNUSED void pgo_free(pgo_graph *g)
{
    free(g->id); free(g->x); free(g->e);
    memset(g, 0, sizeof *g);
}

/* ---- small SO3 / SE3 / SE2 helpers ----------------------------------------------------------- */

static EX_UNUSED void pgo_qmul(const double a[4], const double b[4], double c[4])
{
    double x = a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1];
    double y = a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0];
    double z = a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3];
    double w = a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2];
    c[0] = x; c[1] = y; c[2] = z; c[3] = w;
}
static EX_UNUSED void pgo_qconj(const double a[4], double c[4]) { c[0] = -a[0]; c[1] = -a[1]; c[2] = -a[2]; c[3] = a[3]; }
static EX_UNUSED void pgo_qmat(const double q[4], double R[9])
{
    double x = q[0], y = q[1], z = q[2], w = q[3];
    R[0] = 1 - 2 * (y * y + z * z); R[1] = 2 * (x * y - z * w);     R[2] = 2 * (x * z + y * w);
    R[3] = 2 * (x * y + z * w);     R[4] = 1 - 2 * (x * x + z * z); R[5] = 2 * (y * z - x * w);
    R[6] = 2 * (x * z - y * w);     R[7] = 2 * (y * z + x * w);     R[8] = 1 - 2 * (x * x + y * y);
}
static EX_UNUSED void pgo_qexp(const double w[3], double q[4])
{
    double th = sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]), s;
    s = th < 1e-6 ? 0.5 - th * th / 48 : sin(th / 2) / th;
    q[0] = s * w[0]; q[1] = s * w[1]; q[2] = s * w[2]; q[3] = cos(th / 2);
}
/* rotation vector of q (angle in [0, pi]) */
static EX_UNUSED void pgo_qlog(const double q[4], double w[3])
{
    double sgn = q[3] < 0 ? -1 : 1, vn = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
    double th = 2 * atan2(vn, sgn * q[3]), f = vn < 1e-12 ? 2 / (sgn * q[3]) : th / vn;
    f *= sgn;
    w[0] = f * q[0]; w[1] = f * q[1]; w[2] = f * q[2];
}
static EX_UNUSED void pgo_hat(const double w[3], double *M, int ld) /* 3x3 block at M, row stride ld */
{
    M[0] = 0;          M[1] = -w[2];      M[2] = w[1];
    M[ld] = w[2];      M[ld + 1] = 0;     M[ld + 2] = -w[0];
    M[2 * ld] = -w[1]; M[2 * ld + 1] = w[0]; M[2 * ld + 2] = 0;
}
/* C = A B for 3 x 3 row-major (fixed size: unrolled by the compiler) */
static EX_UNUSED inline void pgo_mm3(const double *A, const double *B, double *C)
{
    int i, j;
    for (i = 0; i < 3; ++i)
        for (j = 0; j < 3; ++j) C[i * 3 + j] = A[i * 3] * B[j] + A[i * 3 + 1] * B[3 + j] + A[i * 3 + 2] * B[6 + j];
}
/* SE2 storage [x y cos sin] from [x y theta] and back */
static EX_UNUSED void pgo_se2_from_theta(const double v[3], double out[4])
{
    double t = v[2];
    out[0] = v[0]; out[1] = v[1]; out[2] = cos(t); out[3] = sin(t);
}
static EX_UNUSED double pgo_se2_theta(const double p[4]) { return atan2(p[3], p[2]); }

/* Ceres' pose_graph_2d residual: e = [R(th_i)^T (p_j - p_i) - p_z ; wrap(th_j - th_i - th_z)].
 * Right-perturbation Jacobians, d = R(th_i)^T (p_j - p_i):
 *   d e_t / d v_i = -I,  d e_t / d w_i = (d_y, -d_x),  d e_t / d v_j = R(th_j - th_i),
 *   d e_th / d w_i = -1,  d e_th / d w_j = 1. */
static dopt_status pgo_se2_between_ceres(const void *data, const double *const *x, double *r,
                                         double *const *J)
{
    const pgo_edge *e = (const pgo_edge *)data;
    const double *a = x[0], *b = x[1], *z = e->z;
    double ca = a[2], sa = a[3], dx = b[0] - a[0], dy = b[1] - a[1];
    double d0 = ca * dx + sa * dy, d1 = -sa * dx + ca * dy;
    double c = b[2] * ca + b[3] * sa, s = b[3] * ca - b[2] * sa; /* rotation th_j - th_i */
    r[0] = d0 - z[0];
    r[1] = d1 - z[1];
    r[2] = atan2(s * z[2] - c * z[3], c * z[2] + s * z[3]); /* wrap(th_j - th_i - th_z) */
    if (J) {
        if (J[0]) {
            double *Jo = J[0];
            Jo[0] = -1; Jo[1] = 0; Jo[2] = d1;
            Jo[3] = 0; Jo[4] = -1; Jo[5] = -d0;
            Jo[6] = 0; Jo[7] = 0; Jo[8] = -1;
        }
        if (J[1]) {
            double *Jo = J[1];
            Jo[0] = c; Jo[1] = -s; Jo[2] = 0;
            Jo[3] = s; Jo[4] = c; Jo[5] = 0;
            Jo[6] = 0; Jo[7] = 0; Jo[8] = 1;
        }
    }
    return DOPT_OK;
}

/* Ceres' pose_graph_3d residual (its quaternion-vector form, an alternative to the group log):
 *   e = [R_i^T (p_j - p_i) - p_z ;  2 vec(q_z ⊗ (q_i^-1 ⊗ q_j)^-1)]
 * Right-perturbation Jacobians (v, w per pose), with (u, s) = q_z ⊗ q_j^-1 ⊗ q_i:
 *   d e_t / d v_i = -I,   d e_t / d w_i = [R_i^T (p_j - p_i)]x,   d e_t / d v_j = R_i^T R_j,  d e_t / d w_j = 0
 *   d e_r / d w_i = s I + [u]x,   d e_r / d w_j = -(s I - [u]x) R_z,   d e_r / d v = 0.
 * Minimizing it reaches the basin Ceres reaches (e.g. torus3D); scored in dopt's metric it is
 * a different objective.  Same data and weights as the group-log cost. */
static dopt_status pgo_se3_between_quat(const void *data, const double *const *x, double *r,
                                        double *const *J)
{
    const pgo_edge *e = (const pgo_edge *)data;
    const double *a = x[0], *b = x[1], *z = e->z;
    double Ra[9], dt[3], tA[3], qai[4], qbi[4], t1[4], dq[4];
    int i, k;
    pgo_qmat(a + 3, Ra);
    for (i = 0; i < 3; ++i) dt[i] = b[i] - a[i];
    for (i = 0; i < 3; ++i) tA[i] = Ra[i] * dt[0] + Ra[3 + i] * dt[1] + Ra[6 + i] * dt[2];
    pgo_qconj(a + 3, qai);
    pgo_qconj(b + 3, qbi);
    pgo_qmul(z + 3, qbi, t1);
    pgo_qmul(t1, a + 3, dq); /* q_z ⊗ q_j^-1 ⊗ q_i = q_z ⊗ (q_i^-1 ⊗ q_j)^-1 */
    (void)qai;
    for (i = 0; i < 3; ++i) r[i] = tA[i] - z[i];
    for (i = 0; i < 3; ++i) r[3 + i] = 2 * dq[i];
    if (J) {
        double U[9], Rb[9], Rz[9], M[9];
        pgo_hat(dq, U, 3);
        if (J[0]) {
            double *Jo = J[0];
            memset(Jo, 0, sizeof(double) * 36);
            pgo_hat(tA, M, 3);
            for (i = 0; i < 3; ++i)
                for (k = 0; k < 3; ++k) {
                    Jo[i * 6 + k] = i == k ? -1 : 0;
                    Jo[i * 6 + 3 + k] = M[i * 3 + k];
                    Jo[(3 + i) * 6 + 3 + k] = (i == k ? dq[3] : 0) + U[i * 3 + k];
                }
        }
        if (J[1]) {
            double *Jo = J[1];
            memset(Jo, 0, sizeof(double) * 36);
            pgo_qmat(b + 3, Rb);
            pgo_qmat(z + 3, Rz);
            for (i = 0; i < 3; ++i)
                for (k = 0; k < 3; ++k) {
                    double rr = 0, mm = 0;
                    int l;
                    for (l = 0; l < 3; ++l) {
                        rr += Ra[l * 3 + i] * Rb[l * 3 + k];
                        mm += ((i == l ? dq[3] : 0) - U[i * 3 + l]) * Rz[l * 3 + k];
                    }
                    Jo[i * 6 + k] = rr;
                    Jo[(3 + i) * 6 + 3 + k] = -mm;
                }
        }
    }
    return DOPT_OK;
}

/* ---- square-root information ---------------------------------------------------------------- */

/* W (n x n row-major) with W^T W = the PSD part of Lambda: upper Cholesky factor when Lambda is
 * positive definite, else diag(sqrt(max(l_k, 0))) V^T from a Jacobi eigen-decomposition.
 * Returns 1 when the information was not positive definite. */
static EX_UNUSED int pgo_sqrt_info(int n, const double *info, double *W)
{
    double A[36], V[36];
    int i, j, k, sweep, ok = 1;
    memcpy(A, info, sizeof(double) * (size_t)(n * n));
    memset(W, 0, sizeof(double) * (size_t)(n * n));
    for (j = 0; j < n && ok; ++j) { /* Lambda = U^T U, U upper: row j of U */
        double d = A[j * n + j];
        for (k = 0; k < j; ++k) d -= W[k * n + j] * W[k * n + j];
        if (!(d > 1e-300)) { ok = 0; break; }
        W[j * n + j] = sqrt(d);
        for (i = j + 1; i < n; ++i) {
            double s = A[j * n + i];
            for (k = 0; k < j; ++k) s -= W[k * n + j] * W[k * n + i];
            W[j * n + i] = s / W[j * n + j];
        }
    }
    if (ok) return 0;
    memset(V, 0, sizeof V);
    for (i = 0; i < n; ++i) V[i * n + i] = 1;
    for (sweep = 0; sweep < 60; ++sweep) {
        double off = 0;
        for (i = 0; i < n; ++i)
            for (j = i + 1; j < n; ++j) off += A[i * n + j] * A[i * n + j];
        if (off < 1e-30) break;
        for (i = 0; i < n; ++i)
            for (j = i + 1; j < n; ++j) {
                double aij = A[i * n + j], th, t, c, s;
                if (fabs(aij) < 1e-300) continue;
                th = (A[j * n + j] - A[i * n + i]) / (2 * aij);
                t = (th >= 0 ? 1 : -1) / (fabs(th) + sqrt(th * th + 1));
                c = 1 / sqrt(t * t + 1);
                s = t * c;
                for (k = 0; k < n; ++k) { /* A <- G^T A G, V <- V G */
                    double akp = A[k * n + i], akq = A[k * n + j];
                    A[k * n + i] = c * akp - s * akq;
                    A[k * n + j] = s * akp + c * akq;
                }
                for (k = 0; k < n; ++k) {
                    double apk = A[i * n + k], aqk = A[j * n + k];
                    A[i * n + k] = c * apk - s * aqk;
                    A[j * n + k] = s * apk + c * aqk;
                }
                for (k = 0; k < n; ++k) {
                    double vkp = V[k * n + i], vkq = V[k * n + j];
                    V[k * n + i] = c * vkp - s * vkq;
                    V[k * n + j] = s * vkp + c * vkq;
                }
            }
    }
    for (i = 0; i < n; ++i) {
        double l = A[i * n + i], sl = l > 0 ? sqrt(l) : 0;
        for (k = 0; k < n; ++k) W[i * n + k] = sl * V[k * n + i];
    }
    return 1;
}

/* ---- g2o ---------------------------------------------------------------------------------------- */

static EX_UNUSED int pgo_find(const pgo_graph *g, int id, const int *sorted_ids, const int *order)
{
    int lo = 0, hi = g->nv - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (sorted_ids[mid] == id) return order[mid];
        if (sorted_ids[mid] < id) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
}

/* x_{j} = x_i * z for the first odometry edge reaching each vertex (pose of vertex 0 = identity) */
static EX_UNUSED void pgo_chain(pgo_graph *g)
{
    int k, v, changed = 1;
    char *done = (char *)calloc((size_t)g->nv + 1, 1);
    for (v = 0; v < g->nv; ++v) {
        double *x = g->x + (size_t)v * g->sd;
        memset(x, 0, sizeof(double) * (size_t)g->sd);
        if (g->dim == 3) x[6] = 1; else x[2] = 1;
    }
    if (g->nv) done[0] = 1;
    while (changed) {
        changed = 0;
        for (k = 0; k < g->ne; ++k) {
            const pgo_edge *e = g->e + k;
            int from = e->i, to = e->j, inv = 0;
            if (done[from] && !done[to]) inv = 0;
            else if (done[to] && !done[from]) { from = e->j; to = e->i; inv = 1; }
            else continue;
            {
                const double *xa = g->x + (size_t)from * g->sd;
                double *xb = g->x + (size_t)to * g->sd, zz[7];
                int i;
                memcpy(zz, e->z, sizeof zz);
                if (g->dim == 2) {
                    double zi[4];
                    if (inv) {
                        dopt_se2_inverse_d(zz, zi, NULL);
                        memcpy(zz, zi, sizeof zi);
                    }
                    dopt_se2_compose_d(xa, zz, xb, NULL, NULL);
                } else {
                    double R[9], q[4];
                    if (inv) {
                        double Rz[9], t[3];
                        pgo_qmat(zz + 3, Rz);
                        for (i = 0; i < 3; ++i) t[i] = -(Rz[i] * zz[0] + Rz[3 + i] * zz[1] + Rz[6 + i] * zz[2]);
                        memcpy(zz, t, sizeof t);
                        pgo_qconj(e->z + 3, zz + 3);
                    }
                    pgo_qmat(xa + 3, R);
                    for (i = 0; i < 3; ++i) xb[i] = xa[i] + R[3 * i] * zz[0] + R[3 * i + 1] * zz[1] + R[3 * i + 2] * zz[2];
                    pgo_qmul(xa + 3, zz + 3, q);
                    memcpy(xb + 3, q, sizeof q);
                }
            }
            done[to] = 1;
            changed = 1;
        }
    }
    free(done);
}

static EX_UNUSED int pgo_cmp_int2(const void *a, const void *b)
{
    const int *x = (const int *)a, *y = (const int *)b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* pgo_read: read a g2o file.  Vertex indices follow ascending ids; edges refer to them.  A file
 * without VERTEX lines gets ids from the edges and poses by chaining odometry.  Returns 0, or -1
 * with msg = "line N: reason". */
static EX_UNUSED int pgo_read(const char *path, pgo_graph *g, char *msg, size_t msglen)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    long lineno = 0;
    int cap_v = 0, cap_e = 0, nvraw = 0, k;
    int *vid = NULL, *pairs = NULL, *order = NULL, *sorted = NULL;
    double *vx = NULL;
    memset(g, 0, sizeof *g);
    if (!f) { snprintf(msg, msglen, "cannot open %s", path); return -1; }
    g->dim = 0;
    while (fgets(line, sizeof line, f)) {
        char tag[64];
        int off = 0;
        lineno++;
        if (sscanf(line, "%63s%n", tag, &off) != 1) continue;
        if (!strcmp(tag, "VERTEX_SE2") || !strcmp(tag, "VERTEX_SE3:QUAT")) {
            int d = tag[9] == '2' ? 2 : 3, n = d == 2 ? 3 : 7, id, c, i, used;
            double v[7];
            const char *p = line + off;
            if (g->dim && g->dim != d) { snprintf(msg, msglen, "line %ld: mixes 2D and 3D", lineno); goto fail; }
            g->dim = d;
            if (sscanf(p, "%d%n", &id, &used) != 1) { snprintf(msg, msglen, "line %ld: bad vertex id", lineno); goto fail; }
            p += used;
            for (i = 0; i < n; ++i) {
                if (sscanf(p, "%lf%n", &v[i], &c) != 1) { snprintf(msg, msglen, "line %ld: vertex needs %d numbers", lineno, n); goto fail; }
                p += c;
            }
            if (nvraw == cap_v) {
                cap_v = cap_v ? 2 * cap_v : 1024;
                vid = (int *)realloc(vid, sizeof(int) * (size_t)cap_v);
                vx = (double *)realloc(vx, sizeof(double) * 7 * (size_t)cap_v);
            }
            vid[nvraw] = id;
            if (d == 2) pgo_se2_from_theta(v, vx + 7 * (size_t)nvraw);
            else memcpy(vx + 7 * (size_t)nvraw, v, sizeof(double) * (size_t)n);
            nvraw++;
        } else if (!strcmp(tag, "EDGE_SE2") || !strcmp(tag, "EDGE_SE3:QUAT")) {
            int d = tag[7] == '2' ? 2 : 3, n = d == 2 ? 3 : 7, ni = d == 2 ? 6 : 21, td = d == 2 ? 3 : 6;
            int a, b, c, used, i, r, cc, q = 0;
            double val[28];
            const char *p = line + off;
            pgo_edge *e;
            if (g->dim && g->dim != d) { snprintf(msg, msglen, "line %ld: mixes 2D and 3D", lineno); goto fail; }
            g->dim = d;
            if (sscanf(p, "%d %d%n", &a, &b, &used) != 2) { snprintf(msg, msglen, "line %ld: bad edge vertex ids", lineno); goto fail; }
            p += used;
            for (i = 0; i < n + ni; ++i) {
                if (sscanf(p, "%lf%n", &val[i], &c) != 1) { snprintf(msg, msglen, "line %ld: edge needs %d numbers", lineno, n + ni); goto fail; }
                p += c;
            }
            if (g->ne == cap_e) {
                cap_e = cap_e ? 2 * cap_e : 1024;
                g->e = (pgo_edge *)realloc(g->e, sizeof(pgo_edge) * (size_t)cap_e);
                pairs = (int *)realloc(pairs, sizeof(int) * 2 * (size_t)cap_e);
            }
            e = g->e + g->ne;
            memset(e, 0, sizeof *e);
            if (d == 2) pgo_se2_from_theta(val, e->z);
            else memcpy(e->z, val, sizeof(double) * (size_t)n);
            if (d == 3) {
                double qn = sqrt(e->z[3] * e->z[3] + e->z[4] * e->z[4] + e->z[5] * e->z[5] + e->z[6] * e->z[6]);
                if (!(qn > 0)) { snprintf(msg, msglen, "line %ld: zero quaternion", lineno); goto fail; }
                for (i = 3; i < 7; ++i) e->z[i] /= qn;
            }
            for (r = 0; r < td; ++r)
                for (cc = r; cc < td; ++cc) {
                    e->info[r * td + cc] = e->info[cc * td + r] = val[n + q];
                    q++;
                }
            pairs[2 * g->ne] = a;
            pairs[2 * g->ne + 1] = b;
            g->ne++;
        } else if (tag[0] != '#' && strncmp(tag, "FIX", 3) != 0) {
            snprintf(msg, msglen, "line %ld: unknown record '%s'", lineno, tag);
            goto fail;
        }
    }
    fclose(f);
    f = NULL;
    if (!g->dim) { snprintf(msg, msglen, "no vertices or edges"); goto fail; }
    g->sd = g->dim == 2 ? 4 : 7;
    g->td = g->dim == 2 ? 3 : 6;
    g->has_vertices = nvraw > 0;
    {
        /* unique sorted ids: vertices given, else the edge endpoints */
        int total = nvraw ? nvraw : 2 * g->ne, m = 0;
        int *tmp = (int *)malloc(sizeof(int) * 2 * ((size_t)total + 1));
        for (k = 0; k < total; ++k) {
            tmp[2 * k] = nvraw ? vid[k] : pairs[k];
            tmp[2 * k + 1] = k;
        }
        qsort(tmp, (size_t)total, 2 * sizeof(int), pgo_cmp_int2);
        sorted = (int *)malloc(sizeof(int) * ((size_t)total + 1));
        order = (int *)malloc(sizeof(int) * ((size_t)total + 1));
        g->id = (int *)malloc(sizeof(int) * ((size_t)total + 1));
        g->x = (double *)calloc((size_t)total + 1, sizeof(double) * (size_t)g->sd);
        for (k = 0; k < total; ++k) {
            if (m > 0 && sorted[m - 1] == tmp[2 * k]) continue;
            sorted[m] = tmp[2 * k];
            order[m] = m;
            g->id[m] = tmp[2 * k];
            if (nvraw) memcpy(g->x + (size_t)m * g->sd, vx + 7 * (size_t)tmp[2 * k + 1], sizeof(double) * (size_t)g->sd);
            m++;
        }
        g->nv = m;
        free(tmp);
    }
    for (k = 0; k < g->ne; ++k) {
        pgo_edge *e = g->e + k;
        e->i = pgo_find(g, pairs[2 * k], sorted, order);
        e->j = pgo_find(g, pairs[2 * k + 1], sorted, order);
        if (e->i < 0 || e->j < 0) { snprintf(msg, msglen, "edge %d: vertex id without a VERTEX line", k); goto fail; }
        if (e->i == e->j) { snprintf(msg, msglen, "edge %d: connects a vertex to itself", k); goto fail; }
        pgo_sqrt_info(g->td, e->info, e->W);
        { int r; for (r = 0; r < g->td; ++r) e->wdiag[r] = e->W[r * g->td + r]; }
    }
    if (g->dim == 3)
        for (k = 0; k < g->nv; ++k) {
            double *q = g->x + (size_t)k * 7 + 3, qn = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
            int i;
            if (qn > 0) for (i = 0; i < 4; ++i) q[i] /= qn; else q[3] = 1;
        }
    if (!nvraw) pgo_chain(g);
    free(vid); free(vx); free(pairs); free(order); free(sorted);
    return 0;
fail:
    if (f) fclose(f);
    free(vid); free(vx); free(pairs); free(order); free(sorted);
    pgo_free(g);
    return -1;
}

/* pgo_write: VERTEX lines of the poses x (nv * sd) with the graph's ids (and the edges when
 * with_edges).  Returns 0 or -1. */
static EX_UNUSED int pgo_write(const char *path, const pgo_graph *g, const double *x, int with_edges)
{
    FILE *f = fopen(path, "w");
    int v, k, r, c;
    if (!f) return -1;
    for (v = 0; v < g->nv; ++v) {
        const double *p = x + (size_t)v * g->sd;
        if (g->dim == 2) fprintf(f, "VERTEX_SE2 %d %.17g %.17g %.17g\n", g->id[v], p[0], p[1], pgo_se2_theta(p));
        else fprintf(f, "VERTEX_SE3:QUAT %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", g->id[v],
                     p[0], p[1], p[2], p[3], p[4], p[5], p[6]);
    }
    for (k = 0; with_edges && k < g->ne; ++k) {
        const pgo_edge *e = g->e + k;
        int n = g->dim == 2 ? 3 : 7;
        fprintf(f, "%s %d %d", g->dim == 2 ? "EDGE_SE2" : "EDGE_SE3:QUAT", g->id[e->i], g->id[e->j]);
        if (g->dim == 2) fprintf(f, " %.17g %.17g %.17g", e->z[0], e->z[1], pgo_se2_theta(e->z));
        else
            for (c = 0; c < n; ++c) fprintf(f, " %.17g", e->z[c]);
        for (r = 0; r < g->td; ++r)
            for (c = r; c < g->td; ++c) fprintf(f, " %.17g", e->info[r * g->td + c]);
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* pgo_problem: a least-squares problem over `batch` graphs of one structure, whose edges lie at
 * edges + b * ne (contiguous, same i/j for every b); hooks copied into the problem (logging).
 * With fix_first, pose 0 is held constant (the gauge). */
static EX_UNUSED dopt_status pgo_problem(const dopt_hooks *hooks, const pgo_graph *g, const pgo_edge *edges,
                               int batch, int fix_first, dopt_nlls_problem_d **out)
{
    dopt_nlls_problem_d *p;
    dopt_manifold_d m = g->dim == 2 ? dopt_lie_manifold_se2_d() : dopt_lie_manifold_se3_d();
    dopt_status st;
    int v, k, r, c, diagonal = 1;
    for (k = 0; k < g->ne * batch && diagonal; ++k) /* diagonal weights are cheaper to apply */
        for (r = 0; r < g->td; ++r)
            for (c = 0; c < g->td; ++c)
                if (r != c && edges[k].W[r * g->td + c] != 0) diagonal = 0;
    st = dopt_nlls_problem_create_d(hooks, batch, &p);
    if (st != DOPT_OK) return st;
    for (v = 0; v < g->nv && st == DOPT_OK; ++v) st = dopt_nlls_add_variable_d(p, &m, NULL);
    if (fix_first && g->nv) dopt_nlls_set_constant_d(p, 0, 1);
    for (k = 0; k < g->ne && st == DOPT_OK; ++k) {
        dopt_nlls_cost_desc_d d;
        int vars[2];
        vars[0] = edges[k].i;
        vars[1] = edges[k].j;
        memset(&d, 0, sizeof d);
        d.fn = g->dim == 2 ? (g->quat_residual ? pgo_se2_between_ceres : dopt_lie_cost_between_se2_d)
                           : (g->quat_residual ? pgo_se3_between_quat : dopt_lie_cost_between_se3_d);
        /* dopt_lie's between costs read the measurement (z); the Ceres-form residuals the edge */
        d.data = g->quat_residual ? (const void *)(edges + k) : (const void *)edges[k].z;
        d.data_stride = sizeof(pgo_edge) * (size_t)g->ne;
        d.rdim = g->td;
        d.nvars = 2;
        d.vars = vars;
        d.weight_kind = diagonal ? DOPT_WEIGHT_DIAGONAL : DOPT_WEIGHT_SQRT_INFO;
        d.weight = diagonal ? edges[k].wdiag : edges[k].W;
        d.weight_stride = (ptrdiff_t)(sizeof(pgo_edge) / sizeof(double)) * g->ne;
        st = dopt_nlls_add_cost_d(p, &d, NULL);
    }
    if (st != DOPT_OK) { dopt_nlls_problem_destroy_d(p); return st; }
    *out = p;
    return DOPT_OK;
}
#endif
