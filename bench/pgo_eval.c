/* bench/pgo_eval.c — the pose-graph bench's common ground: input normalization and the one
 * evaluator that scores every solver's final poses in two metrics.  C99, libc + libm only.
 *
 *   pgo_eval normalize IN.g2o OUT.g2o
 *       Reads a 2D (VERTEX_SE2 / EDGE_SE2) or 3D (VERTEX_SE3:QUAT / EDGE_SE3:QUAT) g2o file and
 *       writes it back with every number in round-trip precision (%.17g): all VERTEX lines
 *       first (ids ascending), then all EDGE lines in file order.  Quaternions (vertex and
 *       edge) are normalized to unit length; SE2 vertex angles are wrapped into (-pi, pi].
 *       A file without VERTEX lines (CSAIL, kitti_00, manhattan) gets its initial values by
 *       chaining the odometry edges from pose 0 = identity: x_{i+1} = x_i * z_{i,i+1} (the
 *       first edge i->i+1 in file order; an edge i+1->i is inverted).  Every solver of the
 *       bench reads this normalized file, so all start from identical values.
 *
 *   pgo_eval score NORM.g2o RESULT.g2o [--sqrt-example]
 *       RESULT holds the final poses (VERTEX lines, same ids; missing ids keep NORM's values).
 *       Prints one line `cost_dopt_metric=A cost_ceres_metric=B` where
 *
 *       (a) dopt's metric:   A = 1/2 sum_e r_e^T Lambda_e r_e,  r_e = Log(z^-1 * x_i^-1 * x_j)
 *           SE2: r = [v; theta] of the SE2 group log (v = V(theta)^-1 t);
 *           SE3: r = [v; w], w = Log of the rotation, v = V(w)^-1 t (the translation part of the
 *           SE3 group log), ordered like g2o's information [x y z rx ry rz].
 *       (b) Ceres' metric (its pose_graph_2d / pose_graph_3d examples' residuals):
 *           2D: e = [R(th_i)^T (p_j - p_i) - p_z ; wrap(th_j - th_i - th_z)]
 *           3D: e = [R(q_i)^T (p_j - p_i) - p_z ; 2 vec(q_z * (q_i^-1 q_j)^-1)]
 *           B = 1/2 sum_e e^T W e.  Default W = Lambda (residual S e with S = U, Lambda = U^T U,
 *           the upper Cholesky factor), which is what pgo_ceres uses by default.  Ceres' example
 *           itself applies S = L = llt().matrixL() (Lambda = L L^T), i.e. W = L^T L, which differs
 *           from Lambda when Lambda is not diagonal; --sqrt-example scores with that W instead.
 *           Both metrics use Lambda as given, also where it is not positive definite (cubicle.g2o
 *           has 5021 edges with an indefinite z/roll/pitch block; normalize reports the count).
 *           The quaternion delta is taken with w >= 0 (so B does not depend on which of q / -q a
 *           solver stores); Ceres itself uses the stored sign.
 *
 *   pgo_eval cube DIR COUNT POSES SEED
 *       Writes COUNT synthetic 3D "cube" problems DIR/cube_000.g2o ... (see cmd_cube); the bench
 *       uses it for the batch case only when pgo_dopt --write-cube is unavailable.
 *
 *   pgo_eval selftest       (checks of the log maps; exits 0 on success)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PGO_PI 3.14159265358979323846

typedef struct {
    int i, j;
    double t[3];   /* 2D: dx dy dtheta; 3D: dx dy dz */
    double q[4];   /* 3D: qx qy qz qw */
    double info[36]; /* full symmetric, row-major n x n, n = 3 or 6 */
} pgo_edge;

typedef struct {
    int dim;            /* 2 or 3 */
    int nv;             /* number of vertex slots (max id + 1) */
    int *has;           /* has[id]: 1 if present */
    double *x;          /* per vertex: 2D x y th (stride 3); 3D x y z qx qy qz qw (stride 7) */
    int ne, cap;
    pgo_edge *e;
} pgo_graph;

static int vstride(const pgo_graph *g) { return g->dim == 2 ? 3 : 7; }

static double wrap_angle(double a)
{
    a = fmod(a + PGO_PI, 2.0 * PGO_PI);
    if (a < 0) a += 2.0 * PGO_PI;
    return a - PGO_PI;
}

static void qnormalize(double *q)
{
    double n = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    int k;
    for (k = 0; k < 4; ++k) q[k] /= n;
}

/* Hamilton product c = a * b, storage [x y z w]. */
static void qmul(const double *a, const double *b, double *c)
{
    double x = a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1];
    double y = a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0];
    double z = a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3];
    double w = a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2];
    c[0] = x; c[1] = y; c[2] = z; c[3] = w;
}

static void qconj(const double *a, double *c) { c[0] = -a[0]; c[1] = -a[1]; c[2] = -a[2]; c[3] = a[3]; }

/* rotate v by unit q: c = R(q) v */
static void qrot(const double *q, const double *v, double *c)
{
    double p[4], t[4], qc[4];
    p[0] = v[0]; p[1] = v[1]; p[2] = v[2]; p[3] = 0.0;
    qmul(q, p, t);
    qconj(q, qc);
    qmul(t, qc, p);
    c[0] = p[0]; c[1] = p[1]; c[2] = p[2];
}

static int graph_vertex_slot(pgo_graph *g, int id)
{
    if (id < 0) return -1;
    if (id >= g->nv) {
        int nn = g->nv ? g->nv : 64, k;
        int *h;
        double *x;
        while (nn <= id) nn *= 2;
        h = (int *)realloc(g->has, (size_t)nn * sizeof(int));
        if (!h) return -1;
        g->has = h;
        x = (double *)realloc(g->x, (size_t)nn * (size_t)vstride(g) * sizeof(double));
        if (!x) return -1;
        g->x = x;
        for (k = g->nv; k < nn; ++k) g->has[k] = 0;
        g->nv = nn;
    }
    return 0;
}

static void graph_free(pgo_graph *g)
{
    free(g->has);
    free(g->x);
    free(g->e);
    memset(g, 0, sizeof(*g));
}

/* Reads a g2o file.  want_edges = 0 skips edges (result files).  dim = 0: detect. */
static int graph_read(const char *path, pgo_graph *g, int dim, int want_edges)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int lineno = 0;
    memset(g, 0, sizeof(*g));
    g->dim = dim;
    if (!f) { fprintf(stderr, "pgo_eval: cannot open %s\n", path); return -1; }
    while (fgets(line, sizeof line, f)) {
        char tag[64];
        int off = 0;
        ++lineno;
        if (sscanf(line, "%63s%n", tag, &off) != 1) continue;  /* blank line */
        if (tag[0] == '#') continue;
        if (strcmp(tag, "VERTEX_SE2") == 0 || strcmp(tag, "VERTEX_SE3:QUAT") == 0) {
            int d = strcmp(tag, "VERTEX_SE2") == 0 ? 2 : 3, id, n;
            double v[7];
            if (g->dim == 0) g->dim = d;
            if (g->dim != d) { fprintf(stderr, "pgo_eval: %s:%d mixed 2D/3D\n", path, lineno); goto fail; }
            if (d == 2)
                n = sscanf(line + off, "%d %lf %lf %lf", &id, &v[0], &v[1], &v[2]) - 1;
            else
                n = sscanf(line + off, "%d %lf %lf %lf %lf %lf %lf %lf", &id, &v[0], &v[1], &v[2],
                           &v[3], &v[4], &v[5], &v[6]) - 1;
            if (n != vstride(g) || graph_vertex_slot(g, id) != 0) {
                fprintf(stderr, "pgo_eval: %s:%d bad vertex\n", path, lineno);
                goto fail;
            }
            if (d == 3) qnormalize(v + 3);
            else v[2] = wrap_angle(v[2]);
            memcpy(g->x + (size_t)id * (size_t)vstride(g), v, (size_t)vstride(g) * sizeof(double));
            g->has[id] = 1;
        } else if (strcmp(tag, "EDGE_SE2") == 0 || strcmp(tag, "EDGE_SE3:QUAT") == 0) {
            int d = strcmp(tag, "EDGE_SE2") == 0 ? 2 : 3, n, nt, k, r, c, pos;
            pgo_edge ed;
            double val[7 + 21];
            char *p = line + off, *endp;
            if (g->dim == 0) g->dim = d;
            if (g->dim != d) { fprintf(stderr, "pgo_eval: %s:%d mixed 2D/3D\n", path, lineno); goto fail; }
            if (!want_edges) continue;
            if (sscanf(p, "%d %d%n", &ed.i, &ed.j, &pos) != 2) goto bad_edge;
            p += pos;
            n = d == 2 ? 3 : 6;
            nt = (d == 2 ? 3 : 7) + n * (n + 1) / 2;
            for (k = 0; k < nt; ++k) {
                val[k] = strtod(p, &endp);
                if (endp == p) goto bad_edge;
                p = endp;
            }
            memset(ed.q, 0, sizeof ed.q);
            if (d == 2) {
                ed.t[0] = val[0]; ed.t[1] = val[1]; ed.t[2] = val[2];
                k = 3;
            } else {
                ed.t[0] = val[0]; ed.t[1] = val[1]; ed.t[2] = val[2];
                ed.q[0] = val[3]; ed.q[1] = val[4]; ed.q[2] = val[5]; ed.q[3] = val[6];
                qnormalize(ed.q);
                k = 7;
            }
            for (r = 0; r < n; ++r)
                for (c = r; c < n; ++c) {
                    ed.info[r * n + c] = val[k];
                    ed.info[c * n + r] = val[k];
                    ++k;
                }
            if (ed.i < 0 || ed.j < 0) goto bad_edge;
            if (g->ne == g->cap) {
                int nc = g->cap ? 2 * g->cap : 1024;
                pgo_edge *ne = (pgo_edge *)realloc(g->e, (size_t)nc * sizeof(pgo_edge));
                if (!ne) goto fail;
                g->e = ne;
                g->cap = nc;
            }
            g->e[g->ne++] = ed;
            continue;
        bad_edge:
            fprintf(stderr, "pgo_eval: %s:%d bad edge\n", path, lineno);
            goto fail;
        } else {
            fprintf(stderr, "pgo_eval: %s:%d unknown tag %s\n", path, lineno, tag);
            goto fail;
        }
    }
    fclose(f);
    if (g->dim == 0) { fprintf(stderr, "pgo_eval: %s: empty\n", path); graph_free(g); return -1; }
    return 0;
fail:
    fclose(f);
    graph_free(g);
    return -1;
}

static int graph_max_id(const pgo_graph *g)
{
    int m = -1, k;
    for (k = 0; k < g->nv; ++k)
        if (g->has[k]) m = k;
    for (k = 0; k < g->ne; ++k) {
        if (g->e[k].i > m) m = g->e[k].i;
        if (g->e[k].j > m) m = g->e[k].j;
    }
    return m;
}

/* x_out = a * b (poses); inv_b: use b^-1 */
static void compose(int dim, const double *a, const double *b, double *out)
{
    if (dim == 2) {
        double c = cos(a[2]), s = sin(a[2]);
        out[0] = a[0] + c * b[0] - s * b[1];
        out[1] = a[1] + s * b[0] + c * b[1];
        out[2] = wrap_angle(a[2] + b[2]);
    } else {
        double r[3];
        qrot(a + 3, b, r);
        out[0] = a[0] + r[0]; out[1] = a[1] + r[1]; out[2] = a[2] + r[2];
        qmul(a + 3, b + 3, out + 3);
        qnormalize(out + 3);
    }
}

static void invert(int dim, const double *a, double *out)
{
    if (dim == 2) {
        double c = cos(a[2]), s = sin(a[2]);
        out[0] = -(c * a[0] + s * a[1]);
        out[1] = -(-s * a[0] + c * a[1]);
        out[2] = wrap_angle(-a[2]);
    } else {
        double qc[4], r[3];
        qconj(a + 3, qc);
        qrot(qc, a, r);
        out[0] = -r[0]; out[1] = -r[1]; out[2] = -r[2];
        memcpy(out + 3, qc, 4 * sizeof(double));
    }
}

static void edge_pose(int dim, const pgo_edge *e, double *z)
{
    z[0] = e->t[0]; z[1] = e->t[1]; z[2] = e->t[2];
    if (dim == 3) memcpy(z + 3, e->q, 4 * sizeof(double));
}

static int example_weight(int n, const double *info, double *W);

static int cmd_normalize(const char *in, const char *out)
{
    pgo_graph g;
    FILE *f;
    int n, k, r, c, chained = 0;
    if (graph_read(in, &g, 0, 1) != 0) return 1;
    n = graph_max_id(&g) + 1;
    if (graph_vertex_slot(&g, n - 1) != 0) { graph_free(&g); return 1; }
    for (k = 0; k < n; ++k)
        if (!g.has[k]) break;
    if (k < n) {
        /* Chain odometry: needs every i -> i+1 (or i+1 -> i) edge. */
        int st = vstride(&g), id;
        double *zi = (double *)malloc((size_t)n * (size_t)st * sizeof(double));
        int *found = (int *)calloc((size_t)n, sizeof(int));
        if (!zi || !found) { free(zi); free(found); graph_free(&g); return 1; }
        for (k = 0; k < g.ne; ++k) {
            const pgo_edge *e = &g.e[k];
            double z[7];
            if (e->j == e->i + 1 && !found[e->i]) {
                edge_pose(g.dim, e, zi + (size_t)e->i * st);
                found[e->i] = 1;
            } else if (e->i == e->j + 1 && !found[e->j]) {
                edge_pose(g.dim, e, z);
                invert(g.dim, z, zi + (size_t)e->j * st);
                found[e->j] = 1;
            }
        }
        for (r = 0; r < st; ++r) g.x[r] = 0.0;
        if (g.dim == 3) g.x[6] = 1.0;
        g.has[0] = 1;
        for (id = 0; id + 1 < n; ++id) {
            if (!found[id]) {
                fprintf(stderr, "pgo_eval: %s: no odometry edge %d -> %d to chain\n", in, id, id + 1);
                free(zi); free(found); graph_free(&g);
                return 1;
            }
            compose(g.dim, g.x + (size_t)id * st, zi + (size_t)id * st, g.x + (size_t)(id + 1) * st);
            g.has[id + 1] = 1;
        }
        free(zi);
        free(found);
        chained = 1;
    }
    f = fopen(out, "w");
    if (!f) { graph_free(&g); return 1; }
    for (k = 0; k < n; ++k) {
        const double *x = g.x + (size_t)k * vstride(&g);
        if (g.dim == 2)
            fprintf(f, "VERTEX_SE2 %d %.17g %.17g %.17g\n", k, x[0], x[1], x[2]);
        else
            fprintf(f, "VERTEX_SE3:QUAT %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", k, x[0], x[1],
                    x[2], x[3], x[4], x[5], x[6]);
    }
    for (k = 0; k < g.ne; ++k) {
        const pgo_edge *e = &g.e[k];
        int nn = g.dim == 2 ? 3 : 6;
        if (g.dim == 2)
            fprintf(f, "EDGE_SE2 %d %d %.17g %.17g %.17g", e->i, e->j, e->t[0], e->t[1], e->t[2]);
        else
            fprintf(f, "EDGE_SE3:QUAT %d %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g", e->i, e->j,
                    e->t[0], e->t[1], e->t[2], e->q[0], e->q[1], e->q[2], e->q[3]);
        for (r = 0; r < nn; ++r)
            for (c = r; c < nn; ++c) fprintf(f, " %.17g", e->info[r * nn + c]);
        fputc('\n', f);
    }
    if (fclose(f) != 0) { graph_free(&g); return 1; }
    {
        int not_pd = 0;
        double W[36];
        for (k = 0; k < g.ne; ++k) not_pd += example_weight(g.dim == 2 ? 3 : 6, g.e[k].info, W) != 0;
        fprintf(stderr, "pgo_eval: normalized %s: dim=%d vertices=%d edges=%d not_pd_information=%d%s\n",
                in, g.dim, n, g.ne, not_pd, chained ? " (initial values chained from odometry)" : "");
    }
    graph_free(&g);
    return 0;
}

/* ---- metrics ------------------------------------------------------------------------------- */

/* SE2 log of (t, th): r = [V(th)^-1 t; th]. */
static void se2_log(const double *t, double th, double *r)
{
    double h = 0.5 * th, a;
    a = fabs(h) < 1e-6 ? 1.0 - h * h / 3.0 : h * cos(h) / sin(h);
    r[0] = a * t[0] + h * t[1];
    r[1] = -h * t[0] + a * t[1];
    r[2] = th;
}

/* SE3 log of (t, q) (q unit, any sign): r = [V(w)^-1 t; w]. */
static void se3_log(const double *t, const double *qin, double *r)
{
    double q[4], vn, th, k, w[3], wt[3], wwt[3], th2, coef;
    memcpy(q, qin, sizeof q);
    if (q[3] < 0) { q[0] = -q[0]; q[1] = -q[1]; q[2] = -q[2]; q[3] = -q[3]; }
    vn = sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2]);
    th = 2.0 * atan2(vn, q[3]);
    k = vn < 1e-12 ? 2.0 / q[3] : th / vn;
    w[0] = k * q[0]; w[1] = k * q[1]; w[2] = k * q[2];
    th2 = w[0] * w[0] + w[1] * w[1] + w[2] * w[2];
    /* V^-1 = I - 1/2 [w]x + coef [w]x^2, coef = (1 - th sin th / (2 (1 - cos th))) / th^2 */
    if (th2 < 1e-8)
        coef = 1.0 / 12.0 + th2 / 720.0;
    else {
        double thn = sqrt(th2);
        coef = (1.0 - thn * sin(thn) / (2.0 * (1.0 - cos(thn)))) / th2;
    }
    wt[0] = w[1] * t[2] - w[2] * t[1];
    wt[1] = w[2] * t[0] - w[0] * t[2];
    wt[2] = w[0] * t[1] - w[1] * t[0];
    wwt[0] = w[1] * wt[2] - w[2] * wt[1];
    wwt[1] = w[2] * wt[0] - w[0] * wt[2];
    wwt[2] = w[0] * wt[1] - w[1] * wt[0];
    r[0] = t[0] - 0.5 * wt[0] + coef * wwt[0];
    r[1] = t[1] - 0.5 * wt[1] + coef * wwt[1];
    r[2] = t[2] - 0.5 * wt[2] + coef * wwt[2];
    r[3] = w[0]; r[4] = w[1]; r[5] = w[2];
}

static double quad(int n, const double *W, const double *r)
{
    double s = 0.0;
    int a, b;
    for (a = 0; a < n; ++a)
        for (b = 0; b < n; ++b) s += r[a] * W[a * n + b] * r[b];
    return s;
}

/* W = L^T L with Lambda = L L^T (Ceres' example weighting).  Returns -1 if not SPD. */
static int example_weight(int n, const double *info, double *W)
{
    double L[36];
    int i, j, k;
    memset(L, 0, sizeof L);
    for (j = 0; j < n; ++j) {
        double d = info[j * n + j];
        for (k = 0; k < j; ++k) d -= L[j * n + k] * L[j * n + k];
        if (!(d > 0)) return -1;
        L[j * n + j] = sqrt(d);
        for (i = j + 1; i < n; ++i) {
            double s = info[i * n + j];
            for (k = 0; k < j; ++k) s -= L[i * n + k] * L[j * n + k];
            L[i * n + j] = s / L[j * n + j];
        }
    }
    for (i = 0; i < n; ++i)
        for (j = 0; j < n; ++j) {
            double s = 0.0;
            for (k = 0; k < n; ++k) s += L[k * n + i] * L[k * n + j];
            W[i * n + j] = s;
        }
    return 0;
}

static void edge_residuals(int dim, const pgo_edge *e, const double *xi, const double *xj,
                           double *r_dopt, double *r_ceres)
{
    if (dim == 2) {
        double c = cos(xi[2]), s = sin(xi[2]), d[2], t[2], cz = cos(e->t[2]), sz = sin(e->t[2]), u[2];
        double th = xj[2] - xi[2];
        d[0] = xj[0] - xi[0];
        d[1] = xj[1] - xi[1];
        t[0] = c * d[0] + s * d[1];          /* R(th_i)^T (p_j - p_i) */
        t[1] = -s * d[0] + c * d[1];
        r_ceres[0] = t[0] - e->t[0];
        r_ceres[1] = t[1] - e->t[1];
        r_ceres[2] = wrap_angle(th - e->t[2]);
        u[0] = cz * r_ceres[0] + sz * r_ceres[1];   /* R(th_z)^T (t - t_z) */
        u[1] = -sz * r_ceres[0] + cz * r_ceres[1];
        se2_log(u, wrap_angle(th - e->t[2]), r_dopt);
    } else {
        double qic[4], qij[4], d[3], t[3], qzc[4], qe[4], u[3], dq[4], qijc[4];
        qconj(xi + 3, qic);
        qmul(qic, xj + 3, qij);                  /* q_i^-1 q_j */
        d[0] = xj[0] - xi[0]; d[1] = xj[1] - xi[1]; d[2] = xj[2] - xi[2];
        qrot(qic, d, t);                         /* R(q_i)^T (p_j - p_i) */
        r_ceres[0] = t[0] - e->t[0];
        r_ceres[1] = t[1] - e->t[1];
        r_ceres[2] = t[2] - e->t[2];
        qconj(qij, qijc);
        qmul(e->q, qijc, dq);                    /* q_z * (q_i^-1 q_j)^-1 */
        if (dq[3] < 0) { dq[0] = -dq[0]; dq[1] = -dq[1]; dq[2] = -dq[2]; }
        r_ceres[3] = 2.0 * dq[0]; r_ceres[4] = 2.0 * dq[1]; r_ceres[5] = 2.0 * dq[2];
        /* dopt: E = z^-1 * (x_i^-1 x_j): t_E = R(q_z)^T (t - t_z), q_E = q_z^-1 q_ij */
        qconj(e->q, qzc);
        qrot(qzc, r_ceres, u);
        qmul(qzc, qij, qe);
        se3_log(u, qe, r_dopt);
    }
}

static int cmd_score(const char *norm, const char *res, int sqrt_example)
{
    pgo_graph g, r;
    double cost_d = 0.0, cost_c = 0.0;
    int k, st, n;
    if (graph_read(norm, &g, 0, 1) != 0) return 1;
    if (graph_read(res, &r, g.dim, 0) != 0) { graph_free(&g); return 1; }
    st = vstride(&g);
    n = g.dim == 2 ? 3 : 6;
    for (k = 0; k < r.nv && k < g.nv; ++k)
        if (r.has[k]) memcpy(g.x + (size_t)k * st, r.x + (size_t)k * st, (size_t)st * sizeof(double));
    for (k = 0; k < g.ne; ++k) {
        const pgo_edge *e = &g.e[k];
        double rd[6], rc[6], W[36];
        if (e->i >= g.nv || e->j >= g.nv || !g.has[e->i] || !g.has[e->j]) {
            fprintf(stderr, "pgo_eval: edge %d -> %d has no vertex\n", e->i, e->j);
            graph_free(&g); graph_free(&r);
            return 1;
        }
        edge_residuals(g.dim, e, g.x + (size_t)e->i * st, g.x + (size_t)e->j * st, rd, rc);
        cost_d += 0.5 * quad(n, e->info, rd);
        if (sqrt_example) {
            if (example_weight(n, e->info, W) != 0) {
                fprintf(stderr, "pgo_eval: information of edge %d not SPD\n", k);
                graph_free(&g); graph_free(&r);
                return 1;
            }
            cost_c += 0.5 * quad(n, W, rc);
        } else
            cost_c += 0.5 * quad(n, e->info, rc);
    }
    printf("cost_dopt_metric=%.10g cost_ceres_metric=%.10g\n", cost_d, cost_c);
    graph_free(&g);
    graph_free(&r);
    return 0;
}


/* ---- synthetic cube problems (fallback writer for the batch case) ----------------------------
 * Same recipe as dopt_lie_cube_graph (Theseus' generate_synthetic_3D), own RNG:
 *   ground truth x_0 = identity, x_k = x_{k-1} Exp([u; w]), u uniform in +-0.5, w in +-1.0 per axis;
 *   odometry k-1 -> k: z = (x_{k-1}^-1 x_k) Exp(noise), noise uniform with half-widths 0.05
 *   (translation) and 0.02 (rotation); loop closures: with probability 0.2 pose k >= 2 links to
 *   1..10 distinct random earlier poses i < k-1 (same noise, no outliers); initial values
 *   x_k Exp(noise); information diag(1/0.05^2 x3, 1/0.02^2 x3). */
static unsigned long long rng_next(unsigned long long *s)
{
    unsigned long long z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static double rng_unif(unsigned long long *s) { return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0; }

static void se3_exp(const double *r, double *t, double *q);

/* g = Exp(xi), xi uniform in +-ht (translation) / +-hr (rotation) per axis; g stored x y z qx qy qz qw */
static void cube_noise(unsigned long long *s, double ht, double hr, double *g)
{
    double xi[6];
    int k;
    for (k = 0; k < 3; ++k) xi[k] = ht * (2.0 * rng_unif(s) - 1.0);
    for (k = 3; k < 6; ++k) xi[k] = hr * (2.0 * rng_unif(s) - 1.0);
    se3_exp(xi, g, g + 3);
}

static int cmd_cube(const char *dir, int count, int n, unsigned long long seed)
{
    const double st = 0.05, sr = 0.02;
    int p, k;
    double *gt, *x, *ez;
    int *ei;
    size_t cap;
    if (count <= 0 || n < 2) return 2;
    cap = (size_t)(n - 1) * 11;
    gt = (double *)malloc((size_t)n * 7 * sizeof(double));
    x = (double *)malloc((size_t)n * 7 * sizeof(double));
    ez = (double *)malloc(cap * 7 * sizeof(double));
    ei = (int *)malloc(cap * 2 * sizeof(int));
    if (!gt || !x || !ez || !ei) { free(gt); free(x); free(ez); free(ei); return 1; }
    for (p = 0; p < count; ++p) {
        unsigned long long s = seed * 1000003ULL + (unsigned long long)p;
        char path[4096];
        FILE *f;
        int ne = 0, e;
        memset(gt, 0, 7 * sizeof(double));
        gt[6] = 1.0;
        for (k = 1; k < n; ++k) {
            double rel[7], nz[7];
            int pick[10], np = 0, cnt, c, q;
            cube_noise(&s, 0.5, 1.0, rel);
            compose(3, gt + (size_t)(k - 1) * 7, rel, gt + (size_t)k * 7);
            cube_noise(&s, st, sr, nz);
            compose(3, rel, nz, ez + (size_t)ne * 7);
            ei[2 * ne] = k - 1;
            ei[2 * ne + 1] = k;
            ++ne;
            if (k >= 2 && rng_unif(&s) < 0.2) {
                cnt = 1 + (int)(rng_unif(&s) * 10.0);
                if (cnt > 10) cnt = 10;
                for (c = 0; c < cnt; ++c) {
                    int i = (int)(rng_unif(&s) * (double)(k - 1)), dup = 0;
                    if (i > k - 2) i = k - 2;
                    for (q = 0; q < np; ++q) dup |= pick[q] == i;
                    if (!dup) pick[np++] = i;
                }
                for (c = 0; c < np; ++c) {
                    double inv[7], gtrel[7];
                    invert(3, gt + (size_t)pick[c] * 7, inv);
                    compose(3, inv, gt + (size_t)k * 7, gtrel);
                    cube_noise(&s, st, sr, nz);
                    compose(3, gtrel, nz, ez + (size_t)ne * 7);
                    ei[2 * ne] = pick[c];
                    ei[2 * ne + 1] = k;
                    ++ne;
                }
            }
        }
        for (k = 0; k < n; ++k) {
            double nz[7];
            cube_noise(&s, st, sr, nz);
            compose(3, gt + (size_t)k * 7, nz, x + (size_t)k * 7);
        }
        snprintf(path, sizeof path, "%s/cube_%03d.g2o", dir, p);
        f = fopen(path, "w");
        if (!f) { free(gt); free(x); free(ez); free(ei); return 1; }
        for (k = 0; k < n; ++k) {
            const double *v = x + (size_t)k * 7;
            fprintf(f, "VERTEX_SE3:QUAT %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", k, v[0], v[1],
                    v[2], v[3], v[4], v[5], v[6]);
        }
        for (e = 0; e < ne; ++e) {
            const double *z = ez + (size_t)e * 7;
            double it = 1.0 / (st * st), ir = 1.0 / (sr * sr);
            fprintf(f, "EDGE_SE3:QUAT %d %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g", ei[2 * e],
                    ei[2 * e + 1], z[0], z[1], z[2], z[3], z[4], z[5], z[6]);
            fprintf(f, " %.17g 0 0 0 0 0 %.17g 0 0 0 0 %.17g 0 0 0 %.17g 0 0 %.17g 0 %.17g\n", it, it, it,
                    ir, ir, ir);
        }
        if (fclose(f) != 0) { free(gt); free(x); free(ez); free(ei); return 1; }
    }
    free(gt);
    free(x);
    free(ez);
    free(ei);
    return 0;
}

/* SE3 exp (t = V(w) v, q = Exp(w)); used by the cube writer and the self test */
static void se3_exp(const double *r, double *t, double *q)
{
    const double *v = r, *w = r + 3;
    double th = sqrt(w[0] * w[0] + w[1] * w[1] + w[2] * w[2]), s, A, B, wv[3], wwv[3];
    s = th < 1e-12 ? 0.5 : sin(0.5 * th) / th;
    q[0] = s * w[0]; q[1] = s * w[1]; q[2] = s * w[2]; q[3] = cos(0.5 * th);
    A = th < 1e-6 ? 0.5 : (1.0 - cos(th)) / (th * th);
    B = th < 1e-6 ? 1.0 / 6.0 : (th - sin(th)) / (th * th * th);
    wv[0] = w[1] * v[2] - w[2] * v[1];
    wv[1] = w[2] * v[0] - w[0] * v[2];
    wv[2] = w[0] * v[1] - w[1] * v[0];
    wwv[0] = w[1] * wv[2] - w[2] * wv[1];
    wwv[1] = w[2] * wv[0] - w[0] * wv[2];
    wwv[2] = w[0] * wv[1] - w[1] * wv[0];
    t[0] = v[0] + A * wv[0] + B * wwv[0];
    t[1] = v[1] + A * wv[1] + B * wwv[1];
    t[2] = v[2] + A * wv[2] + B * wwv[2];
}

static int cmd_selftest(void)
{
    double r[6] = {0.3, -1.2, 0.7, 0.4, -0.9, 1.3}, t[3], q[4], back[6], err = 0.0, r2[3];
    double t2[2], th = 2.1, sc;
    int k;
    se3_exp(r, t, q);
    se3_log(t, q, back);
    for (k = 0; k < 6; ++k) err = fmax(err, fabs(back[k] - r[k]));
    /* SE2: exp([v; th]) has t = V(th) v, V = 1/th [[s, -(1-c)], [1-c, s]] */
    sc = 1.0 / th;
    t2[0] = sc * (sin(th) * 0.5 - (1 - cos(th)) * -0.8);
    t2[1] = sc * ((1 - cos(th)) * 0.5 + sin(th) * -0.8);
    se2_log(t2, th, r2);
    err = fmax(err, fmax(fabs(r2[0] - 0.5), fabs(r2[1] + 0.8)));
    printf("pgo_eval selftest max_err=%.3g\n", err);
    return err < 1e-12 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "normalize") == 0) return cmd_normalize(argv[2], argv[3]);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "score") == 0)
        return cmd_score(argv[2], argv[3], argc == 5 && strcmp(argv[4], "--sqrt-example") == 0);
    if (argc == 2 && strcmp(argv[1], "selftest") == 0) return cmd_selftest();
    if (argc == 6 && strcmp(argv[1], "cube") == 0)
        return cmd_cube(argv[2], atoi(argv[3]), atoi(argv[4]), strtoull(argv[5], NULL, 10));
    fprintf(stderr, "usage: pgo_eval normalize IN OUT | score NORM RESULT [--sqrt-example] | cube DIR COUNT POSES SEED | selftest\n");
    return 2;
}
