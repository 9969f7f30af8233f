/* dopt_lie.h tests: group axioms, every analytic Jacobian against central finite differences
 * (random inputs and the singular sweep θ = 0, 1e-12, 1e-8, 1e-4, π - 1e-6, π), SE2 = SE3 in the
 * plane, exp against a matrix exponential, costs, manifolds, batches, g2o I/O, the cube generator.
 * Float and double; finite differences are central, h = 1e-6 (double) / 4e-3 (float). */
#if !defined(DOPT_REAL)
#define DOPT_IMPLEMENTATION
/* small streaming threshold: the packed batch test below crosses it, so both the cached and the
 * non-temporal-store paths run */
#ifndef DOPT_LIE_STREAM_BYTES
#define DOPT_LIE_STREAM_BYTES 2048
#endif
#include "dopt_lie.h"
#include "dopt_test.h"
#include "tests/fail_alloc.h"

#define PI_ 3.14159265358979323846
/* the singular sweep of the issue: angles at which exp/log/Jacobians are checked */
static const double sweep_angles[6] = {0.0, 1e-12, 1e-8, 1e-4, PI_ - 1e-6, PI_};

#define TEST_LIE_PASS
#define DOPT_GENERIC "tests/test_lie.c"
#include "dopt.h"
#undef DOPT_GENERIC
#undef TEST_LIE_PASS

/* ---- precision-independent: data files ---- */

static void test_g2o_data_files(void)
{
    static const struct { const char *file; long v, e; } files[] = {
        {"pgo2d/CSAIL.g2o", 1045, 1172},       {"pgo2d/MIT.g2o", 808, 827},
        {"pgo2d/ais2klinik.g2o", 15115, 16727}, {"pgo2d/city10000.g2o", 10000, 20687},
        {"pgo2d/intel.g2o", 1728, 2512},       {"pgo2d/kitti_00.g2o", 4541, 4677},
        {"pgo2d/manhattan.g2o", 3500, 5453},   {"pgo3d/cubicle.g2o", 5750, 16869},
        {"pgo3d/parking-garage.g2o", 1661, 6275}, {"pgo3d/smallGrid3D.g2o", 125, 297},
        {"pgo3d/sphere2500.g2o", 2500, 4949},  {"pgo3d/sphere_bignoise_vertex3.g2o", 2200, 8647},
        {"pgo3d/tinyGrid3D.g2o", 9, 11},       {"pgo3d/torus3D.g2o", 5000, 9048}};
    char path[1024];
    int k, found = 0;
    for (k = 0; k < (int)(sizeof files / sizeof files[0]); ++k) {
        dopt_lie_pose_graph_d g;
        dopt_errinfo info;
        dopt_status st;
        FILE *f;
        long e, bad_info = 0, bad_q = 0;
        snprintf(path, sizeof path, "%s/%s", dopt_test_data_dir(), files[k].file);
        f = fopen(path, "r");
        if (!f) continue;
        fclose(f);
        if (dopt_test_quick() && files[k].e > 10000) continue;
        found++;
        st = dopt_lie_g2o_read_d(path, NULL, &g, &info);
        DOPT_CHECK(st == DOPT_OK, "%s: %s (line %ld: %s)", files[k].file, dopt_status_string(st), info.line, info.message);
        if (st != DOPT_OK) continue;
        DOPT_CHECK(g.num_poses == files[k].v, "%s: %ld vertices, want %ld", files[k].file, (long)g.num_poses, (long)files[k].v);
        DOPT_CHECK(g.num_edges == files[k].e, "%s: %ld edges, want %ld", files[k].file, (long)g.num_edges, (long)files[k].e);
        DOPT_CHECK(g.group == (files[k].file[3] == '2' ? DOPT_LIE_SE2 : DOPT_LIE_SE3), "%s group", files[k].file);
        for (e = 0; e < g.num_edges; ++e) { /* information: symmetric with positive diagonal */
            int a, b, td = g.tangent_dim;
            for (a = 0; a < td; ++a) {
                if (!(g.edges[e].information[a * td + a] > 0)) bad_info++;
                for (b = 0; b < td; ++b)
                    if (g.edges[e].information[a * td + b] != g.edges[e].information[b * td + a]) bad_info++;
            }
        }
        for (e = 0; e < g.num_poses; ++e) {
            const double *x = g.poses + e * g.dim;
            double n = g.group == DOPT_LIE_SE2 ? x[2] * x[2] + x[3] * x[3]
                                               : x[3] * x[3] + x[4] * x[4] + x[5] * x[5] + x[6] * x[6];
            if (fabs(n - 1) > 1e-12 || !dopt_all_finite_d(g.dim, x)) bad_q++;
        }
        DOPT_CHECK(bad_info == 0, "%s: %ld bad information entries", files[k].file, bad_info);
        DOPT_CHECK(bad_q == 0, "%s: %ld non-unit or non-finite poses", files[k].file, bad_q);
        dopt_lie_pose_graph_destroy_d(&g);
    }
    if (!found) DOPT_SKIP("no pgo2d/pgo3d data under DOPT_DATA_DIR");
}

/* the chained initial guess of an edge-only file equals the VERTEX lines it was cut from */
static void test_g2o_chain_matches_vertices(void)
{
    char path[1024];
    const char *tmp = dopt_test_temp_path("lie_chain.g2o");
    dopt_lie_pose_graph_d g, h;
    dopt_errinfo info;
    FILE *f, *o;
    char line[4096];
    long k;
    double err = 0;
    snprintf(path, sizeof path, "%s/pgo2d/MIT.g2o", dopt_test_data_dir());
    f = fopen(path, "r");
    if (!f) DOPT_SKIP("pgo2d/MIT.g2o not found");
    o = fopen(tmp, "w");
    if (!o) { fclose(f); DOPT_SKIP("cannot write temp file"); }
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "EDGE", 4) == 0) fputs(line, o);
    fclose(f);
    fclose(o);
    DOPT_CHECK(dopt_lie_g2o_read_d(path, NULL, &g, &info) == DOPT_OK, "read MIT");
    DOPT_CHECK(dopt_lie_g2o_read_d(tmp, NULL, &h, &info) == DOPT_OK, "read edge-only MIT");
    remove(tmp);
    DOPT_CHECK(g.num_poses == h.num_poses, "same pose count");
    for (k = 0; k < g.num_poses && k < h.num_poses; ++k) {
        double d[4];
        int a;
        for (a = 0; a < 4; ++a) d[a] = g.poses[4 * k + a] - h.poses[4 * k + a];
        for (a = 0; a < 4; ++a) err = fmax(err, fabs(d[a]) / (1 + 0.01 * k));
    }
    /* MIT's vertices are its odometry chained (printed with 6 decimals): drift stays small */
    DOPT_CHECK(err < 1e-2, "chained odometry vs vertices: %g", err);
    dopt_lie_pose_graph_destroy_d(&g);
    dopt_lie_pose_graph_destroy_d(&h);
}

static void test_g2o_errors(void)
{
    static const struct { const char *text; long line; const char *why; } bad[] = {
        {"VERTEX_SE2 0 0 0 0\nVERTEX_SE2 1 1 0\n", 2, "missing"},
        {"VERTEX_SE2 0 0 0 0\nVERTEX_SE2 1 1 0 0 7\n", 2, "extra"},
        {"VERTEX_SE2 0 0 0 0\n\nEDGE_SE2 0 1 1 0 0 1 0 0 1 0 x\n", 3, "non-numeric"},
        {"VERTEX_SE2 0 0 0 0\nVERTEX_SE3:QUAT 1 0 0 0 0 0 0 1\n", 2, "mixes"},
        {"# c\nVERTEX_SE2 -1 0 0 0\n", 2, "id"},
        {"VERTEX_SE2 0 0 0 0\nVERTEX_SE2 0 0 0 0\n", 2, "duplicate"},
        {"VERTEX_SE3:QUAT 0 0 0 0 0 0 0 0\n", 1, "zero quaternion"},
        {"VERTEX_XYZ 0 1 2 3\n", 1, "unsupported"},
        {"VERTEX_SE2 0 nan 0 0\n", 1, "non-numeric"},
        {"# nothing\n\n", 0, "no VERTEX"}};
    const char *tmp = dopt_test_temp_path("lie_bad.g2o");
    int k;
    for (k = 0; k < (int)(sizeof bad / sizeof bad[0]); ++k) {
        dopt_lie_pose_graph_d g;
        dopt_errinfo info;
        dopt_status st;
        memset(&info, 0, sizeof info);
        if (!dopt_test_write_text(tmp, bad[k].text)) DOPT_SKIP("cannot write temp file");
        st = dopt_lie_g2o_read_d(tmp, NULL, &g, &info);
        DOPT_CHECK(st == DOPT_ERR_PARSE, "case %d: status %s", k, dopt_status_string(st));
        DOPT_CHECK(info.line == bad[k].line, "case %d: line %ld, want %ld", k, info.line, bad[k].line);
        DOPT_CHECK(strstr(info.message, bad[k].why) != NULL, "case %d: message '%s' lacks '%s'", k, info.message, bad[k].why);
        DOPT_CHECK(g.poses == NULL && g.edges == NULL, "case %d: graph left zeroed", k);
    }
    {
        dopt_lie_pose_graph_d g;
        DOPT_CHECK(dopt_lie_g2o_read_d("/nonexistent/dir/x.g2o", NULL, &g, NULL) == DOPT_ERR_IO, "missing file");
    }
    /* FIX lines, comments, CRLF and tabs are fine; edges without vertices are chained */
    {
        dopt_lie_pose_graph_d g;
        dopt_errinfo info;
        dopt_test_write_text(tmp, "# header\r\nFIX 0\nEDGE_SE2\t0 1 1 0 1.5707963267948966 1 0 0 1 0 1\r\n"
                        "EDGE_SE2 1 2 1 0 0 1 0 0 1 0 1\n");
        DOPT_CHECK(dopt_lie_g2o_read_d(tmp, NULL, &g, &info) == DOPT_OK, "edge-only file: %s", info.message);
        DOPT_CHECK(g.num_poses == 3 && g.num_edges == 2, "counts %ld %ld", (long)g.num_poses, (long)g.num_edges);
        if (g.num_poses == 3) {
            DOPT_CHECK_CLOSE(g.poses[8], 1.0, 1e-15, "x2");
            DOPT_CHECK_CLOSE(g.poses[9], 1.0, 1e-15, "y2");
            DOPT_CHECK_CLOSE(g.poses[11], 1.0, 1e-15, "sin th2");
        }
        dopt_lie_pose_graph_destroy_d(&g);
    }
    remove(tmp);
}

/* issue 24, defects 1, 2, 8 and the 4095-character line: an id of 1e19 was cast to long before
 * its range check (UB); a quaternion above ~1.3e154 overflowed to zeros and was stored with OK;
 * 27 bytes naming id 1000000 took 92 MB (id 999999999: ~90 GB) */
static void test_g2o_hostile(void)
{
    static const struct { const char *text; dopt_status st; long line; const char *why; } bad[] = {
        {"VERTEX_SE2 1e19 0 0 0\n", DOPT_ERR_PARSE, 1, "integer"},
        {"VERTEX_SE2 0 0 0 0\nEDGE_SE2 0 -1e300 1 0 0 1 0 0 1 0 1\n", DOPT_ERR_PARSE, 2, "integer"},
        {"VERTEX_SE2 2.5 0 0 0\n", DOPT_ERR_PARSE, 1, "integer"},
        {"VERTEX_SE2 1000000 0 0 0\n", DOPT_ERR_UNSUPPORTED, 1, "sparse"},
        {"VERTEX_SE2 0 0 0 0\nVERTEX_SE2 999999999 0 0 0\nVERTEX_SE2 1 0 0 0\n", DOPT_ERR_UNSUPPORTED, 2, "sparse"},
        {"VERTEX_SE3:QUAT 1 1 0 0 1e-320 0 0 0\nVERTEX_SE3:QUAT 0 1 0 0 0 0 0 0\n", DOPT_ERR_PARSE, 2, "zero quaternion"}};
    const char *tmp = dopt_test_temp_path("lie_hostile.g2o");
    char *line;
    int k;
    for (k = 0; k < (int)(sizeof bad / sizeof bad[0]); ++k) {
        dopt_lie_pose_graph_d g;
        dopt_errinfo info;
        dopt_status st;
        memset(&info, 0, sizeof info);
        if (!dopt_test_write_text(tmp, bad[k].text)) DOPT_SKIP("cannot write temp file");
        st = dopt_lie_g2o_read_d(tmp, NULL, &g, &info);
        DOPT_CHECK(st == bad[k].st, "case %d: status %s", k, dopt_status_string(st));
        DOPT_CHECK(info.line == bad[k].line, "case %d: line %ld, want %ld", k, info.line, bad[k].line);
        DOPT_CHECK(strstr(info.message, bad[k].why) != NULL, "case %d: message '%s' lacks '%s'", k, info.message, bad[k].why);
        DOPT_CHECK(g.poses == NULL && g.edges == NULL, "case %d: graph left zeroed", k);
    }
    /* huge and tiny quaternions are normalized, in vertices and edges, double and float */
    {
        dopt_lie_pose_graph_d g;
        dopt_lie_pose_graph_f gf;
        dopt_errinfo info;
        int q;
        dopt_test_write_text(tmp, "VERTEX_SE3:QUAT 0 1 0 0 1e200 1e200 0 0\nVERTEX_SE3:QUAT 1 1 0 0 0 0 3e-300 4e-300\n"
                        "EDGE_SE3:QUAT 0 1 1 0 0 0 1e300 0 1e300 1 0 0 0 0 0 1 0 0 0 0 1 0 0 0 1 0 0 1 0 1\n");
        DOPT_CHECK(dopt_lie_g2o_read_d(tmp, NULL, &g, &info) == DOPT_OK, "huge quaternions: %s", info.message);
        if (g.poses) {
            const double r = sqrt(0.5);
            const double want[3][4] = {{r, r, 0, 0}, {0, 0, 0.6, 0.8}, {0, r, 0, r}};
            for (q = 0; q < 4; ++q) {
                DOPT_CHECK_CLOSE(g.poses[3 + q], want[0][q], 1e-15, "vertex 0 q");
                DOPT_CHECK_CLOSE(g.poses[7 + 3 + q], want[1][q], 1e-15, "vertex 1 q");
                DOPT_CHECK_CLOSE(g.edges[0].measurement[3 + q], want[2][q], 1e-15, "edge q");
            }
        }
        dopt_lie_pose_graph_destroy_d(&g);
        DOPT_CHECK(dopt_lie_g2o_read_f(tmp, NULL, &gf, &info) == DOPT_OK, "huge quaternions (float): %s", info.message);
        if (gf.poses) DOPT_CHECK(fabs(gf.poses[3] - sqrt(0.5)) < 1e-6 && fabs(gf.poses[4] - sqrt(0.5)) < 1e-6, "float q");
        dopt_lie_pose_graph_destroy_f(&gf);
    }
    { /* 1e300 fits a double, not a float: the float reader says so instead of storing Inf */
        dopt_lie_pose_graph_d g;
        dopt_lie_pose_graph_f gf;
        dopt_errinfo info;
        dopt_test_write_text(tmp, "VERTEX_SE2 0 1e300 0 0\n");
        DOPT_CHECK(dopt_lie_g2o_read_d(tmp, NULL, &g, &info) == DOPT_OK, "1e300 in double");
        dopt_lie_pose_graph_destroy_d(&g);
        DOPT_CHECK(dopt_lie_g2o_read_f(tmp, NULL, &gf, &info) == DOPT_ERR_PARSE && info.line == 1, "1e300 in float");
        dopt_test_write_text(tmp, "EDGE_SE2 0 1 1.5e308 0 0 1 0 0 1 0 1\nEDGE_SE2 1 2 1.5e308 0 0 1 0 0 1 0 1\n");
        DOPT_CHECK(dopt_lie_g2o_read_d(tmp, NULL, &g, &info) == DOPT_ERR_NON_FINITE && g.poses == NULL,
                   "chained poses overflowing: %s", info.message);
    }
    /* a line of 4095 characters is fine, 4096 is too long */
    line = (char *)malloc(4200);
    if (!line) DOPT_SKIP("no memory");
    for (k = 0; k < 2; ++k) {
        dopt_lie_pose_graph_d g;
        dopt_errinfo info;
        dopt_status st;
        size_t n = 4095 + (size_t)k;
        memset(line, ' ', n);
        memcpy(line, "VERTEX_SE2 0 1 2 0", 18);
        line[n] = '\n';
        line[n + 1] = 0;
        dopt_test_write_text(tmp, line);
        memset(&info, 0, sizeof info);
        st = dopt_lie_g2o_read_d(tmp, NULL, &g, &info);
        if (k == 0) DOPT_CHECK(st == DOPT_OK && g.num_poses == 1, "4095 characters: %s %s", dopt_status_string(st), info.message);
        else DOPT_CHECK(st == DOPT_ERR_PARSE && strstr(info.message, "4095"), "4096 characters: %s", dopt_status_string(st));
        dopt_lie_pose_graph_destroy_d(&g);
    }
    free(line);
    remove(tmp);
}

static void suite(void)
{
    DOPT_TEST_RUN(test_axioms_d);
    DOPT_TEST_RUN(test_axioms_f);
    DOPT_TEST_RUN(test_jacobians_fd_d);
    DOPT_TEST_RUN(test_jacobians_fd_f);
    DOPT_TEST_RUN(test_jacobian_identities_d);
    DOPT_TEST_RUN(test_jacobian_identities_f);
    DOPT_TEST_RUN(test_exp_matches_matrix_exp_d);
    DOPT_TEST_RUN(test_exp_matches_matrix_exp_f);
    DOPT_TEST_RUN(test_singular_sweep_d);
    DOPT_TEST_RUN(test_singular_sweep_f);
    DOPT_TEST_RUN(test_se2_is_planar_se3_d);
    DOPT_TEST_RUN(test_se2_is_planar_se3_f);
    DOPT_TEST_RUN(test_conversions_d);
    DOPT_TEST_RUN(test_conversions_f);
    DOPT_TEST_RUN(test_interp_random_normalize_d);
    DOPT_TEST_RUN(test_interp_random_normalize_f);
    DOPT_TEST_RUN(test_batches_d);
    DOPT_TEST_RUN(test_batches_f);
    DOPT_TEST_RUN(test_batches_packed_d);
    DOPT_TEST_RUN(test_batches_packed_f);
    DOPT_TEST_RUN(test_manifolds_d);
    DOPT_TEST_RUN(test_manifolds_f);
    DOPT_TEST_RUN(test_group_costs_fd_d);
    DOPT_TEST_RUN(test_group_costs_fd_f);
    DOPT_TEST_RUN(test_camera_costs_fd_d);
    DOPT_TEST_RUN(test_camera_costs_fd_f);
    DOPT_TEST_RUN(test_cube_graph_d);
    DOPT_TEST_RUN(test_cube_graph_f);
    DOPT_TEST_RUN(test_cube_pgo_nlls_d);
    DOPT_TEST_RUN(test_cube_pgo_nlls_f);
    DOPT_TEST_RUN(test_g2o_roundtrip_d);
    DOPT_TEST_RUN(test_g2o_roundtrip_f);
    DOPT_TEST_RUN(test_log_range_normalize_f);
    DOPT_TEST_RUN(test_log_range_normalize_d);
    DOPT_TEST_RUN(test_g2o_errors);
    DOPT_TEST_RUN(test_g2o_hostile);
    DOPT_TEST_RUN(test_g2o_data_files);
    DOPT_TEST_RUN(test_g2o_chain_matches_vertices);
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_LIE_PASS) && defined(DOPT_REAL)
/* ================================ precision-generic tests ================================ */
#define R_ DOPT_REAL

/* A group as a table of function pointers, so that one checker covers all five. */
typedef struct DOPT_FN(tgroup) {
    const char *name;
    int dim, td, pd; /* stored, tangent, point dims */
    void (*exp)(const R_ *, R_ *, R_ *);
    void (*log)(const R_ *, R_ *, R_ *);
    void (*compose)(const R_ *, const R_ *, R_ *, R_ *, R_ *);
    void (*inverse)(const R_ *, R_ *, R_ *);
    void (*between)(const R_ *, const R_ *, R_ *, R_ *, R_ *);
    void (*act)(const R_ *, const R_ *, R_ *, R_ *, R_ *);
    void (*adjoint)(const R_ *, R_ *);
    void (*jr)(const R_ *, R_ *);
    void (*jr_inv)(const R_ *, R_ *);
    void (*jl)(const R_ *, R_ *);
    void (*jl_inv)(const R_ *, R_ *);
    void (*random)(dopt_rng *, R_ *);
    void (*to_matrix)(const R_ *, R_ *); /* homogeneous (or rotation) matrix */
    int mat_n;                           /* its size */
    void (*hat)(const R_ *, R_ *);
    void (*vee)(const R_ *, R_ *);
} DOPT_FN(tgroup);

static DOPT_FN(tgroup) DOPT_FN(tgroup_get)(int which)
{
    DOPT_FN(tgroup) G;
    memset(&G, 0, sizeof G);
#define SET_(grp, D, T, P, MN)                                                   \
    G.name = #grp; G.dim = D; G.td = T; G.pd = P; G.mat_n = MN;                  \
    G.exp = DOPT_FN(dopt_##grp##_exp); G.log = DOPT_FN(dopt_##grp##_log);        \
    G.compose = DOPT_FN(dopt_##grp##_compose); G.inverse = DOPT_FN(dopt_##grp##_inverse); \
    G.between = DOPT_FN(dopt_##grp##_between); G.act = DOPT_FN(dopt_##grp##_act); \
    G.adjoint = DOPT_FN(dopt_##grp##_adjoint); G.random = DOPT_FN(dopt_##grp##_random); \
    G.to_matrix = DOPT_FN(dopt_##grp##_to_matrix); G.hat = DOPT_FN(dopt_##grp##_hat); \
    G.vee = DOPT_FN(dopt_##grp##_vee)
    switch (which) {
    case 0: SET_(so2, 2, 1, 2, 2); break;
    case 1: SET_(se2, 4, 3, 2, 3);
        G.jr = DOPT_FN(dopt_se2_jr); G.jr_inv = DOPT_FN(dopt_se2_jr_inv);
        G.jl = DOPT_FN(dopt_se2_jl); G.jl_inv = DOPT_FN(dopt_se2_jl_inv); break;
    case 2: SET_(so3, 4, 3, 3, 3);
        G.jr = DOPT_FN(dopt_so3_jr); G.jr_inv = DOPT_FN(dopt_so3_jr_inv);
        G.jl = DOPT_FN(dopt_so3_jl); G.jl_inv = DOPT_FN(dopt_so3_jl_inv); break;
    case 3: SET_(se3, 7, 6, 3, 4);
        G.jr = DOPT_FN(dopt_se3_jr); G.jr_inv = DOPT_FN(dopt_se3_jr_inv);
        G.jl = DOPT_FN(dopt_se3_jl); G.jl_inv = DOPT_FN(dopt_se3_jl_inv); break;
    default: SET_(sim3, 8, 7, 3, 4);
        G.jr = DOPT_FN(dopt_sim3_jr); G.jr_inv = DOPT_FN(dopt_sim3_jr_inv); break;
    }
#undef SET_
    return G;
}
#define NGROUPS_ 5

static const double DOPT_FN(fd_h) = DOPT_IS_FLOAT ? 4e-3 : 1e-6;
#define FD_TOL_ DOPT_TEST_TOL(1e-7, 3e-2)

/* tangent index of the rotation angle(s) and the first rotation component */
static int DOPT_FN(rot0)(const DOPT_FN(tgroup) *G) { return G->td == 1 ? 0 : (G->td == 3 && G->pd == 2) ? 2 : G->pd == 3 && G->td == 3 ? 0 : 3; }
static int DOPT_FN(nrot)(const DOPT_FN(tgroup) *G) { return G->pd == 2 ? 1 : 3; }

/* a tangent vector with random translation/scale parts and rotation angle `angle` about a random
 * axis (angle < 0: random angle in [0, 3)) */
static void DOPT_FN(tangent_at)(const DOPT_FN(tgroup) *G, dopt_rng *rng, double angle, R_ *xi)
{
    double a[3], n = 0;
    int k, r0 = DOPT_FN(rot0)(G), nr = DOPT_FN(nrot)(G);
    for (k = 0; k < G->td; ++k) xi[k] = (R_)(2 * dopt_rng_uniform_d(rng) - 1);
    if (angle < 0) angle = 3 * dopt_rng_uniform_d(rng);
    for (k = 0; k < nr; ++k) { a[k] = dopt_rng_normal_d(rng); n += a[k] * a[k]; }
    n = sqrt(n);
    for (k = 0; k < nr; ++k) xi[r0 + k] = (R_)(nr == 1 ? (a[0] < 0 ? -angle : angle) : angle * a[k] / n);
}

/* Log(a⁻¹ b) in double precision of this pass */
static void DOPT_FN(gdiff)(const DOPT_FN(tgroup) *G, const R_ *a, const R_ *b, R_ *d)
{
    R_ e[8];
    G->between(a, b, e, NULL, NULL);
    G->log(e, d, NULL);
}

static void DOPT_FN(retract)(const DOPT_FN(tgroup) *G, const R_ *x, int k, double h, R_ *out)
{
    R_ d[8], e[8];
    int i;
    for (i = 0; i < G->td; ++i) d[i] = 0;
    d[k] = (R_)h;
    G->exp(d, e, NULL);
    G->compose(x, e, out, NULL, NULL);
}

/* max |A - B| / max(1, max|B|) over m x n */
static double DOPT_FN(relerr)(const R_ *A, const R_ *B, int mn)
{
    double e = 0, s = 1;
    int i;
    for (i = 0; i < mn; ++i) { e = fmax(e, fabs((double)A[i] - (double)B[i])); s = fmax(s, fabs((double)B[i])); }
    return e / s;
}

/* ---- finite-difference Jacobians of the five kinds of map ---- */

/* f: group -> group, J = d Log(f(x)⁻¹ f(x Exp δ)) / dδ */
typedef void (*DOPT_FN(g2g_fn))(const DOPT_FN(tgroup) *G, const R_ *x, const void *ctx, R_ *y);

static void DOPT_FN(fd_g2g)(const DOPT_FN(tgroup) *G, DOPT_FN(g2g_fn) f, const R_ *x, const void *ctx,
                            int out_td, R_ *J, const DOPT_FN(tgroup) *Gout)
{
    R_ y0[8], xp[8], xm[8], yp[8], ym[8], dp[8], dm[8];
    double h = DOPT_FN(fd_h);
    int k, i;
    f(G, x, ctx, y0);
    for (k = 0; k < G->td; ++k) {
        DOPT_FN(retract)(G, x, k, h, xp);
        DOPT_FN(retract)(G, x, k, -h, xm);
        f(G, xp, ctx, yp);
        f(G, xm, ctx, ym);
        DOPT_FN(gdiff)(Gout, y0, yp, dp);
        DOPT_FN(gdiff)(Gout, y0, ym, dm);
        for (i = 0; i < out_td; ++i) J[i * G->td + k] = (R_)((dp[i] - dm[i]) / (2 * h));
    }
}

static void DOPT_FN(f_compose_a)(const DOPT_FN(tgroup) *G, const R_ *x, const void *ctx, R_ *y) { G->compose(x, (const R_ *)ctx, y, NULL, NULL); }
static void DOPT_FN(f_compose_b)(const DOPT_FN(tgroup) *G, const R_ *x, const void *ctx, R_ *y) { G->compose((const R_ *)ctx, x, y, NULL, NULL); }
static void DOPT_FN(f_between_a)(const DOPT_FN(tgroup) *G, const R_ *x, const void *ctx, R_ *y) { G->between(x, (const R_ *)ctx, y, NULL, NULL); }
static void DOPT_FN(f_between_b)(const DOPT_FN(tgroup) *G, const R_ *x, const void *ctx, R_ *y) { G->between((const R_ *)ctx, x, y, NULL, NULL); }
static void DOPT_FN(f_inverse)(const DOPT_FN(tgroup) *G, const R_ *x, const void *ctx, R_ *y) { (void)ctx; G->inverse(x, y, NULL); }

/* FD of exp: J = d Log(Exp(ξ)⁻¹ Exp(ξ + h e_k)) / dh  (the right Jacobian) */
static void DOPT_FN(fd_exp)(const DOPT_FN(tgroup) *G, const R_ *xi, R_ *J)
{
    R_ g0[8], gp[8], gm[8], xp[8], xm[8], dp[8], dm[8];
    double h = DOPT_FN(fd_h);
    int k, i;
    G->exp(xi, g0, NULL);
    for (k = 0; k < G->td; ++k) {
        for (i = 0; i < G->td; ++i) xp[i] = xm[i] = xi[i];
        xp[k] += (R_)h;
        xm[k] -= (R_)h;
        G->exp(xp, gp, NULL);
        G->exp(xm, gm, NULL);
        DOPT_FN(gdiff)(G, g0, gp, dp);
        DOPT_FN(gdiff)(G, g0, gm, dm);
        for (i = 0; i < G->td; ++i) J[i * G->td + k] = (R_)((dp[i] - dm[i]) / (2 * h));
    }
}

/* FD of log: J = d Log(x Exp(h e_k)) / dh */
static void DOPT_FN(fd_log)(const DOPT_FN(tgroup) *G, const R_ *x, R_ *J)
{
    R_ xp[8], xm[8], lp[8], lm[8];
    double h = DOPT_FN(fd_h);
    int k, i;
    for (k = 0; k < G->td; ++k) {
        DOPT_FN(retract)(G, x, k, h, xp);
        DOPT_FN(retract)(G, x, k, -h, xm);
        G->log(xp, lp, NULL);
        G->log(xm, lm, NULL);
        for (i = 0; i < G->td; ++i) J[i * G->td + k] = (R_)((lp[i] - lm[i]) / (2 * h));
    }
}

/* FD of act w.r.t. the group element and the point */
static void DOPT_FN(fd_act)(const DOPT_FN(tgroup) *G, const R_ *g, const R_ *p, R_ *Jg, R_ *Jp)
{
    R_ gp[8], gm[8], yp[3], ym[3], pp[3], pm[3];
    double h = DOPT_FN(fd_h);
    int k, i, n = G->pd;
    for (k = 0; k < G->td; ++k) {
        DOPT_FN(retract)(G, g, k, h, gp);
        DOPT_FN(retract)(G, g, k, -h, gm);
        G->act(gp, p, yp, NULL, NULL);
        G->act(gm, p, ym, NULL, NULL);
        for (i = 0; i < n; ++i) Jg[i * G->td + k] = (R_)((yp[i] - ym[i]) / (2 * h));
    }
    for (k = 0; k < n; ++k) {
        for (i = 0; i < n; ++i) pp[i] = pm[i] = p[i];
        pp[k] += (R_)h;
        pm[k] -= (R_)h;
        G->act(g, pp, yp, NULL, NULL);
        G->act(g, pm, ym, NULL, NULL);
        for (i = 0; i < n; ++i) Jp[i * n + k] = (R_)((yp[i] - ym[i]) / (2 * h));
    }
}

/* all Jacobians of group G at element a (and b, point p, tangent xi); returns the worst error */
static double DOPT_FN(check_all_jacobians)(const DOPT_FN(tgroup) *G, const R_ *a, const R_ *b, const R_ *p,
                                           const R_ *xi, int check_log_fd, const char **worst)
{
    R_ J[49], F[49], J2[49], F2[49], c[8];
    double e, w = 0;
    int td = G->td;
#define KEEP_(what) do { if (e > w) { w = e; *worst = what; } } while (0)
    G->exp(xi, c, J);
    DOPT_FN(fd_exp)(G, xi, F);
    e = DOPT_FN(relerr)(J, F, td * td); KEEP_("exp");
    G->log(a, c, J);
    if (check_log_fd) {
        DOPT_FN(fd_log)(G, a, F);
        e = DOPT_FN(relerr)(J, F, td * td); KEEP_("log");
    }
    G->compose(a, b, c, J, J2);
    DOPT_FN(fd_g2g)(G, DOPT_FN(f_compose_a), a, b, td, F, G);
    DOPT_FN(fd_g2g)(G, DOPT_FN(f_compose_b), b, a, td, F2, G);
    e = DOPT_FN(relerr)(J, F, td * td); KEEP_("compose Ja");
    e = DOPT_FN(relerr)(J2, F2, td * td); KEEP_("compose Jb");
    G->between(a, b, c, J, J2);
    DOPT_FN(fd_g2g)(G, DOPT_FN(f_between_a), a, b, td, F, G);
    DOPT_FN(fd_g2g)(G, DOPT_FN(f_between_b), b, a, td, F2, G);
    e = DOPT_FN(relerr)(J, F, td * td); KEEP_("between Ja");
    e = DOPT_FN(relerr)(J2, F2, td * td); KEEP_("between Jb");
    G->inverse(a, c, J);
    DOPT_FN(fd_g2g)(G, DOPT_FN(f_inverse), a, NULL, td, F, G);
    e = DOPT_FN(relerr)(J, F, td * td); KEEP_("inverse");
    G->act(a, p, c, J, J2);
    DOPT_FN(fd_act)(G, a, p, F, F2);
    e = DOPT_FN(relerr)(J, F, G->pd * td); KEEP_("act Jg");
    e = DOPT_FN(relerr)(J2, F2, G->pd * G->pd); KEEP_("act Jp");
#undef KEEP_
    return w;
}

static void DOPT_FN(test_jacobians_fd)(void)
{
    dopt_rng rng;
    int gi, trial;
    dopt_rng_seed(&rng, 11, DOPT_IS_FLOAT);
    for (gi = 0; gi < NGROUPS_; ++gi) {
        DOPT_FN(tgroup) G = DOPT_FN(tgroup_get)(gi);
        double worst = 0;
        const char *what = "-";
        for (trial = 0; trial < 40; ++trial) {
            R_ a[8], b[8], p[3], xi[8];
            const char *wh = "-";
            double e;
            int k;
            G.random(&rng, a);
            G.random(&rng, b);
            for (k = 0; k < 3; ++k) p[k] = (R_)(2 * dopt_rng_normal_d(&rng));
            DOPT_FN(tangent_at)(&G, &rng, -1, xi);
            e = DOPT_FN(check_all_jacobians)(&G, a, b, p, xi, 1, &wh);
            if (e > worst) { worst = e; what = wh; }
        }
        DOPT_CHECK(worst < FD_TOL_, "%s: worst FD error %.3g in %s", G.name, worst, what);
    }
}

/* The singular sweep: exp/log and every Jacobian at the edge angles. */
static void DOPT_FN(test_singular_sweep)(void)
{
    dopt_rng rng;
    int gi, ai, trial;
    dopt_rng_seed(&rng, 12, DOPT_IS_FLOAT);
    for (gi = 0; gi < NGROUPS_; ++gi) {
        DOPT_FN(tgroup) G = DOPT_FN(tgroup_get)(gi);
        for (ai = 0; ai < 6; ++ai) {
            double ang = sweep_angles[ai], worst = 0, rt = 0, idw = 0;
            const char *what = "-";
            if (DOPT_IS_FLOAT && ang > 3 && ang < PI_) ang = PI_ - 1e-3; /* π - 1e-6 is π in float */
            for (trial = 0; trial < 6; ++trial) {
                R_ xi[8], a[8], b[8], p[3], l[8], J[49], Jr[49];
                const char *wh = "-";
                double e;
                int k, i, j;
                DOPT_FN(tangent_at)(&G, &rng, ang, xi);
                G.exp(xi, a, NULL);
                G.random(&rng, b);
                for (k = 0; k < 3; ++k) p[k] = (R_)dopt_rng_normal_d(&rng);
                /* log(exp(ξ)) = ξ, with the sign ambiguity only at exactly π */
                G.log(a, l, NULL);
                if (ang < 3) {
                    e = DOPT_FN(relerr)(l, xi, G.td);
                    rt = fmax(rt, e);
                } else { /* at π compare the elements: exp(log(a)) = a */
                    R_ a2[8], d[8];
                    G.exp(l, a2, NULL);
                    DOPT_FN(gdiff)(&G, a, a2, d);
                    rt = fmax(rt, DOPT_FN(dopt_amax)(G.td, d, 1));
                }
                /* FD of log crosses the cut at π: there check Jlog · Jr(ξ) = I instead */
                e = DOPT_FN(check_all_jacobians)(&G, a, b, p, xi, ang < 3, &wh);
                if (e > worst) { worst = e; what = wh; }
                G.log(a, l, J);
                G.jr ? G.jr(l, Jr) : (void)G.exp(l, b, Jr);
                for (i = 0; i < G.td; ++i)
                    for (j = 0; j < G.td; ++j) {
                        double s = 0;
                        for (k = 0; k < G.td; ++k) s += (double)J[i * G.td + k] * Jr[k * G.td + j];
                        idw = fmax(idw, fabs(s - (i == j)));
                    }
            }
            DOPT_CHECK(worst < FD_TOL_, "%s at angle %.17g: FD error %.3g in %s", G.name, ang, worst, what);
            DOPT_CHECK(rt < DOPT_TEST_TOL(1e-12, 2e-5), "%s at angle %.17g: log(exp) error %.3g", G.name, ang, rt);
            DOPT_CHECK(idw < DOPT_TEST_TOL(1e-9, 1e-3), "%s at angle %.17g: Jlog Jr - I = %.3g", G.name, ang, idw);
        }
    }
}

/* exp(log(g)) = g, associativity, inverse, identity, between, adjoint, hat/vee */
static void DOPT_FN(test_axioms)(void)
{
    dopt_rng rng;
    int gi, trial;
    const double tol = DOPT_TEST_TOL(1e-12, 5e-6);
    dopt_rng_seed(&rng, 13, DOPT_IS_FLOAT);
    for (gi = 0; gi < NGROUPS_; ++gi) {
        DOPT_FN(tgroup) G = DOPT_FN(tgroup_get)(gi);
        double e_el = 0, e_assoc = 0, e_inv = 0, e_btw = 0, e_ad = 0, e_hat = 0;
        for (trial = 0; trial < 200; ++trial) {
            R_ a[8], b[8], c[8], ab[8], bc[8], l[8], r1[8], r2[8], id[8], xi[8], X[16], y[8], d[8];
            R_ Ad[49], t1[8], t2[8], e1[8], e2[8];
            int k, i;
            G.random(&rng, a);
            G.random(&rng, b);
            G.random(&rng, c);
            G.log(a, l, NULL);
            G.exp(l, r1, NULL);
            DOPT_FN(gdiff)(&G, a, r1, d);
            e_el = fmax(e_el, DOPT_FN(dopt_amax)(G.td, d, 1));
            /* the stored reals too (quaternion sign fixed) */
            {
                double s = 1, m = 0;
                if (G.dim >= 4 && G.pd == 3) {
                    int q0 = G.dim == 4 ? 0 : 3;
                    double dot = 0;
                    for (k = 0; k < 4; ++k) dot += (double)a[q0 + k] * r1[q0 + k];
                    s = dot < 0 ? -1 : 1;
                    for (k = 0; k < G.dim; ++k) {
                        int inq = k >= q0 && k < q0 + 4;
                        m = fmax(m, fabs((double)a[k] - (inq ? s : 1) * r1[k]) / (1 + fabs((double)a[k])));
                    }
                } else {
                    for (k = 0; k < G.dim; ++k) m = fmax(m, fabs((double)a[k] - r1[k]) / (1 + fabs((double)a[k])));
                }
                e_el = fmax(e_el, m);
            }
            G.compose(a, b, ab, NULL, NULL);
            G.compose(b, c, bc, NULL, NULL);
            G.compose(ab, c, r1, NULL, NULL);
            G.compose(a, bc, r2, NULL, NULL);
            DOPT_FN(gdiff)(&G, r1, r2, d);
            e_assoc = fmax(e_assoc, DOPT_FN(dopt_amax)(G.td, d, 1));
            G.inverse(a, r1, NULL);
            G.compose(a, r1, r2, NULL, NULL);
            for (k = 0; k < G.td; ++k) l[k] = 0;
            G.exp(l, id, NULL);
            DOPT_FN(gdiff)(&G, id, r2, d);
            e_inv = fmax(e_inv, DOPT_FN(dopt_amax)(G.td, d, 1));
            G.between(a, b, r1, NULL, NULL);
            G.inverse(a, r2, NULL);
            G.compose(r2, b, r2, NULL, NULL); /* aliasing output = input */
            DOPT_FN(gdiff)(&G, r1, r2, d);
            e_btw = fmax(e_btw, DOPT_FN(dopt_amax)(G.td, d, 1));
            /* a Exp(ξ) a⁻¹ = Exp(Ad(a) ξ) */
            DOPT_FN(tangent_at)(&G, &rng, 0.7, xi);
            G.adjoint(a, Ad);
            for (i = 0; i < G.td; ++i) {
                double s = 0;
                for (k = 0; k < G.td; ++k) s += (double)Ad[i * G.td + k] * xi[k];
                y[i] = (R_)s;
            }
            G.exp(xi, e1, NULL);
            G.compose(a, e1, t1, NULL, NULL);
            G.inverse(a, t2, NULL);
            G.compose(t1, t2, t1, NULL, NULL);
            G.exp(y, e2, NULL);
            DOPT_FN(gdiff)(&G, t1, e2, d);
            e_ad = fmax(e_ad, DOPT_FN(dopt_amax)(G.td, d, 1) / (1 + DOPT_FN(dopt_amax)(G.td, y, 1)));
            G.hat(xi, X);
            G.vee(X, y);
            e_hat = fmax(e_hat, DOPT_FN(relerr)(y, xi, G.td));
        }
        DOPT_CHECK(e_el < tol, "%s: exp(log(g)) != g: %.3g", G.name, e_el);
        DOPT_CHECK(e_assoc < tol, "%s: associativity %.3g", G.name, e_assoc);
        DOPT_CHECK(e_inv < tol, "%s: a a^-1 != id: %.3g", G.name, e_inv);
        DOPT_CHECK(e_btw < tol, "%s: between != a^-1 b: %.3g", G.name, e_btw);
        DOPT_CHECK(e_ad < DOPT_TEST_TOL(1e-11, 2e-5), "%s: adjoint %.3g", G.name, e_ad);
        DOPT_CHECK(e_hat <= 2 * DOPT_EPS, "%s: vee(hat) %.3g", G.name, e_hat);
    }
}

/* Jl(ξ) = Jr(-ξ), Jr·Jr⁻¹ = I, Jl⁻¹ = Jl inverse, Jr = Ad(Exp(-ξ))·Jl */
static void DOPT_FN(test_jacobian_identities)(void)
{
    dopt_rng rng;
    int gi, trial;
    dopt_rng_seed(&rng, 14, DOPT_IS_FLOAT);
    for (gi = 1; gi < NGROUPS_; ++gi) {
        DOPT_FN(tgroup) G = DOPT_FN(tgroup_get)(gi);
        double e1 = 0, e2 = 0, e3 = 0;
        int td = G.td;
        for (trial = 0; trial < 50; ++trial) {
            R_ xi[8], mxi[8], Jr[49], Ji[49], Jl[49], Jm[49], g[8], Ad[49];
            int i, j, k;
            DOPT_FN(tangent_at)(&G, &rng, trial < 5 ? sweep_angles[trial] : -1, xi);
            for (k = 0; k < td; ++k) mxi[k] = -xi[k];
            G.jr(xi, Jr);
            G.jr_inv(xi, Ji);
            for (i = 0; i < td; ++i)
                for (j = 0; j < td; ++j) {
                    double s = 0;
                    for (k = 0; k < td; ++k) s += (double)Jr[i * td + k] * Ji[k * td + j];
                    e1 = fmax(e1, fabs(s - (i == j)));
                }
            if (G.jl) {
                G.jl(xi, Jl);
                G.jr(mxi, Jm);
                e2 = fmax(e2, DOPT_FN(relerr)(Jl, Jm, td * td));
                G.jl_inv(xi, Ji);
                for (i = 0; i < td; ++i)
                    for (j = 0; j < td; ++j) {
                        double s = 0;
                        for (k = 0; k < td; ++k) s += (double)Jl[i * td + k] * Ji[k * td + j];
                        e1 = fmax(e1, fabs(s - (i == j)));
                    }
                /* Jl = Ad(Exp(ξ)) Jr */
                G.exp(xi, g, NULL);
                G.adjoint(g, Ad);
                for (i = 0; i < td; ++i)
                    for (j = 0; j < td; ++j) {
                        double s = 0;
                        for (k = 0; k < td; ++k) s += (double)Ad[i * td + k] * Jr[k * td + j];
                        e3 = fmax(e3, fabs(s - Jl[i * td + j]) / (1 + fabs((double)Jl[i * td + j])));
                    }
            }
        }
        DOPT_CHECK(e1 < DOPT_TEST_TOL(1e-12, 1e-5), "%s: J J^-1 - I = %.3g", G.name, e1);
        DOPT_CHECK(e2 < DOPT_TEST_TOL(1e-15, 1e-6), "%s: Jl(x) != Jr(-x): %.3g", G.name, e2);
        DOPT_CHECK(e3 < DOPT_TEST_TOL(1e-12, 1e-5), "%s: Jl != Ad Jr: %.3g", G.name, e3);
    }
}

/* to_matrix(Exp(ξ)) equals the matrix exponential of hat(ξ) (Taylor with scaling and squaring,
 * in double): an independent check of every closed-form exp. */
static void DOPT_FN(test_exp_matches_matrix_exp)(void)
{
    dopt_rng rng;
    int gi, trial;
    dopt_rng_seed(&rng, 15, DOPT_IS_FLOAT);
    for (gi = 0; gi < NGROUPS_; ++gi) {
        DOPT_FN(tgroup) G = DOPT_FN(tgroup_get)(gi);
        double worst = 0;
        int n = G.mat_n;
        for (trial = 0; trial < 30; ++trial) {
            R_ xi[8], X[16], g[8], M[16];
            double A[16], E[16], T[16], P[16], nrm = 0;
            int i, j, k, m = 0;
            DOPT_FN(tangent_at)(&G, &rng, trial < 6 ? sweep_angles[trial] : -1, xi);
            if (gi == 4) xi[6] = (R_)(0.8 * (2 * dopt_rng_uniform_d(&rng) - 1));
            G.hat(xi, X);
            for (i = 0; i < n * n; ++i) { A[i] = X[i]; nrm = fmax(nrm, fabs(A[i])); }
            while (nrm > 0.1) { nrm /= 2; ++m; }
            for (i = 0; i < n * n; ++i) A[i] = ldexp(A[i], -m);
            for (i = 0; i < n * n; ++i) { E[i] = (i % (n + 1)) == 0; P[i] = E[i]; }
            for (k = 1; k < 20; ++k) { /* P = A^k/k!, E += P */
                for (i = 0; i < n; ++i)
                    for (j = 0; j < n; ++j) {
                        double s = 0;
                        int l;
                        for (l = 0; l < n; ++l) s += P[i * n + l] * A[l * n + j];
                        T[i * n + j] = s / k;
                    }
                for (i = 0; i < n * n; ++i) { P[i] = T[i]; E[i] += P[i]; }
            }
            for (k = 0; k < m; ++k) {
                for (i = 0; i < n; ++i)
                    for (j = 0; j < n; ++j) {
                        double s = 0;
                        int l;
                        for (l = 0; l < n; ++l) s += E[i * n + l] * E[l * n + j];
                        T[i * n + j] = s;
                    }
                for (i = 0; i < n * n; ++i) E[i] = T[i];
            }
            G.exp(xi, g, NULL);
            G.to_matrix(g, M);
            for (i = 0; i < n * n; ++i) worst = fmax(worst, fabs(E[i] - M[i]) / (1 + fabs(E[i])));
        }
        DOPT_CHECK(worst < DOPT_TEST_TOL(1e-13, 2e-6), "%s: to_matrix(exp) vs expm(hat): %.3g", G.name, worst);
    }
}

static void DOPT_FN(test_se2_is_planar_se3)(void)
{
    dopt_rng rng;
    int trial;
    double worst = 0;
    dopt_rng_seed(&rng, 16, DOPT_IS_FLOAT);
    for (trial = 0; trial < 100; ++trial) {
        R_ x2[3], y2[3], a2[4], b2[4], c2[4], J2[9], K2[9], l2[3], p2[2], q2[2], Jg2[6], Ad2[9];
        R_ x3[6], y3[6], a3[7], b3[7], c3[7], J3[36], K3[36], l3[6], p3[3], q3[3], Jg3[18], Ad3[36];
        static const int map[3] = {0, 1, 5}; /* SE2 tangent index -> SE3 tangent index */
        int i, j;
        double ang = trial < 6 ? sweep_angles[trial] : 3 * dopt_rng_uniform_d(&rng);
        if (DOPT_IS_FLOAT && ang > 3 && ang < PI_) ang = 3.1;
        for (i = 0; i < 2; ++i) { x2[i] = (R_)dopt_rng_normal_d(&rng); y2[i] = (R_)dopt_rng_normal_d(&rng); }
        x2[2] = (R_)(trial % 2 ? ang : -ang);
        y2[2] = (R_)(2 * dopt_rng_uniform_d(&rng) - 1);
        for (i = 0; i < 6; ++i) x3[i] = y3[i] = 0;
        for (i = 0; i < 3; ++i) { x3[map[i]] = x2[i]; y3[map[i]] = y2[i]; }
        DOPT_FN(dopt_se2_exp)(x2, a2, J2);
        DOPT_FN(dopt_se3_exp)(x3, a3, J3);
        DOPT_FN(dopt_se2_exp)(y2, b2, NULL);
        DOPT_FN(dopt_se3_exp)(y3, b3, NULL);
        for (i = 0; i < 3; ++i)
            for (j = 0; j < 3; ++j) worst = fmax(worst, fabs((double)J2[i * 3 + j] - J3[map[i] * 6 + map[j]]));
        /* same pose */
        worst = fmax(worst, fabs((double)a2[0] - a3[0]));
        worst = fmax(worst, fabs((double)a2[1] - a3[1]));
        { /* same rotation: (c, s) against the first column of SE3's matrix */
            R_ H[16];
            DOPT_FN(dopt_se3_to_matrix)(a3, H);
            worst = fmax(worst, fabs((double)a2[2] - H[0]) + fabs((double)a2[3] - H[4]) + fabs((double)H[10] - 1));
        }
        /* compose / between / log with Jacobians */
        DOPT_FN(dopt_se2_between)(a2, b2, c2, J2, K2);
        DOPT_FN(dopt_se3_between)(a3, b3, c3, J3, K3);
        for (i = 0; i < 3; ++i)
            for (j = 0; j < 3; ++j) worst = fmax(worst, fabs((double)J2[i * 3 + j] - J3[map[i] * 6 + map[j]]));
        DOPT_FN(dopt_se2_log)(c2, l2, J2);
        DOPT_FN(dopt_se3_log)(c3, l3, J3);
        for (i = 0; i < 3; ++i) worst = fmax(worst, fabs((double)l2[i] - l3[map[i]]));
        for (i = 0; i < 3; ++i)
            for (j = 0; j < 3; ++j) worst = fmax(worst, fabs((double)J2[i * 3 + j] - J3[map[i] * 6 + map[j]]));
        DOPT_FN(dopt_se2_adjoint)(a2, Ad2);
        DOPT_FN(dopt_se3_adjoint)(a3, Ad3);
        for (i = 0; i < 3; ++i)
            for (j = 0; j < 3; ++j) worst = fmax(worst, fabs((double)Ad2[i * 3 + j] - Ad3[map[i] * 6 + map[j]]));
        p2[0] = p3[0] = (R_)dopt_rng_normal_d(&rng);
        p2[1] = p3[1] = (R_)dopt_rng_normal_d(&rng);
        p3[2] = 0;
        DOPT_FN(dopt_se2_act)(a2, p2, q2, Jg2, NULL);
        DOPT_FN(dopt_se3_act)(a3, p3, q3, Jg3, NULL);
        for (i = 0; i < 2; ++i) {
            worst = fmax(worst, fabs((double)q2[i] - q3[i]));
            for (j = 0; j < 3; ++j) worst = fmax(worst, fabs((double)Jg2[i * 3 + j] - Jg3[i * 6 + map[j]]));
        }
    }
    DOPT_CHECK(worst < DOPT_TEST_TOL(1e-12, 2e-5), "SE2 vs planar SE3: %.3g", worst);
}

static void DOPT_FN(test_conversions)(void)
{
    dopt_rng rng;
    int trial, k;
    double e_rot = 0, e_h = 0, e_wxyz = 0, e_aa = 0, e_2 = 0;
    dopt_rng_seed(&rng, 17, DOPT_IS_FLOAT);
    for (trial = 0; trial < 200; ++trial) {
        R_ q[4], M[9], q2[4], g[7], H[16], g2[7], wx[4], aa[3], s[8], S[16], s2[8], r2[2], M2[4], r3[2];
        R_ e3[4], h3[9];
        double dot = 0;
        if (trial < 6) { /* near-π and tiny rotations about random axes */
            DOPT_FN(tgroup) G = DOPT_FN(tgroup_get)(2);
            R_ w[3];
            DOPT_FN(tangent_at)(&G, &rng, DOPT_IS_FLOAT && trial == 4 ? 3.1 : sweep_angles[trial], w);
            DOPT_FN(dopt_so3_exp)(w, q, NULL);
        } else {
            DOPT_FN(dopt_so3_random)(&rng, q);
        }
        DOPT_FN(dopt_so3_to_matrix)(q, M);
        DOPT_FN(dopt_so3_from_matrix)(M, q2);
        for (k = 0; k < 4; ++k) dot += (double)q[k] * q2[k];
        e_rot = fmax(e_rot, 1 - fabs(dot));
        DOPT_FN(dopt_se3_random)(&rng, g);
        DOPT_FN(dopt_se3_to_matrix)(g, H);
        DOPT_FN(dopt_se3_from_matrix)(H, g2);
        DOPT_FN(dopt_se3_to_matrix)(g2, S);
        for (k = 0; k < 16; ++k) e_h = fmax(e_h, fabs((double)S[k] - H[k]));
        DOPT_FN(dopt_so3_to_quaternion_wxyz)(q, wx);
        DOPT_FN(dopt_so3_from_quaternion_wxyz)(wx, q2);
        e_wxyz = fmax(e_wxyz, fabs((double)wx[0] - q[3]) + fabs((double)q2[0] - q[0]) + fabs((double)q2[3] - q[3]));
        DOPT_FN(dopt_so3_to_angle_axis)(q, aa);
        DOPT_FN(dopt_so3_from_angle_axis)(aa, q2);
        dot = 0;
        for (k = 0; k < 4; ++k) dot += (double)q[k] * q2[k];
        e_aa = fmax(e_aa, 1 - fabs(dot));
        DOPT_FN(dopt_sim3_random)(&rng, s);
        DOPT_FN(dopt_sim3_to_matrix)(s, S);
        DOPT_FN(dopt_sim3_from_matrix)(S, s2);
        e_h = fmax(e_h, fabs((double)s2[7] - s[7]) / s[7]);
        DOPT_FN(dopt_sim3_to_matrix)(s2, H);
        for (k = 0; k < 16; ++k) e_h = fmax(e_h, fabs((double)S[k] - H[k]) / (1 + fabs((double)S[k])));
        DOPT_FN(dopt_so2_random)(&rng, r2);
        DOPT_FN(dopt_so2_to_matrix)(r2, M2);
        DOPT_FN(dopt_so2_from_matrix)(M2, r3);
        e_2 = fmax(e_2, fabs((double)r3[0] - r2[0]) + fabs((double)r3[1] - r2[1]));
        DOPT_FN(dopt_se2_random)(&rng, e3);
        DOPT_FN(dopt_se2_to_matrix)(e3, h3);
        DOPT_FN(dopt_se2_from_matrix)(h3, e3);
        DOPT_FN(dopt_se2_to_xytheta)(e3, aa);
        DOPT_FN(dopt_se2_from_xytheta)(aa, q2);
        for (k = 0; k < 4; ++k) e_2 = fmax(e_2, fabs((double)q2[k] - e3[k]));
    }
    DOPT_CHECK(e_rot < DOPT_TEST_TOL(1e-15, 1e-6), "so3 matrix round trip %.3g", e_rot);
    DOPT_CHECK(e_h < DOPT_TEST_TOL(1e-14, 1e-5), "se3/sim3 matrix round trip %.3g", e_h);
    DOPT_CHECK(e_wxyz == 0, "wxyz %.3g", e_wxyz);
    DOPT_CHECK(e_aa < DOPT_TEST_TOL(1e-15, 1e-6), "angle-axis round trip %.3g", e_aa);
    DOPT_CHECK(e_2 < DOPT_TEST_TOL(1e-14, 1e-5), "so2/se2 round trips %.3g", e_2);
}

static void DOPT_FN(test_interp_random_normalize)(void)
{
    dopt_rng rng;
    int gi, trial;
    dopt_rng_seed(&rng, 18, DOPT_IS_FLOAT);
    for (gi = 0; gi < NGROUPS_; ++gi) {
        DOPT_FN(tgroup) G = DOPT_FN(tgroup_get)(gi);
        double e = 0;
        for (trial = 0; trial < 50; ++trial) {
            R_ a[8], b[8], c[8], d[8], d1[8], d2[8];
            int k;
            G.random(&rng, a);
            G.random(&rng, b);
            /* endpoints and midpoint: a⁻¹c = c⁻¹b at t = 1/2 */
#define INTERP_(t, out) \
    switch (gi) { \
    case 0: DOPT_FN(dopt_so2_interp)(a, b, (R_)(t), out); break; \
    case 1: DOPT_FN(dopt_se2_interp)(a, b, (R_)(t), out); break; \
    case 2: DOPT_FN(dopt_so3_interp)(a, b, (R_)(t), out); break; \
    case 3: DOPT_FN(dopt_se3_interp)(a, b, (R_)(t), out); break; \
    default: DOPT_FN(dopt_sim3_interp)(a, b, (R_)(t), out); break; }
            INTERP_(0, c);
            DOPT_FN(gdiff)(&G, a, c, d);
            e = fmax(e, DOPT_FN(dopt_amax)(G.td, d, 1));
            INTERP_(1, c);
            DOPT_FN(gdiff)(&G, b, c, d);
            e = fmax(e, DOPT_FN(dopt_amax)(G.td, d, 1));
            INTERP_(0.5, c);
#undef INTERP_
            DOPT_FN(gdiff)(&G, a, c, d1);
            DOPT_FN(gdiff)(&G, c, b, d2);
            for (k = 0; k < G.td; ++k) e = fmax(e, fabs((double)d1[k] - d2[k]));
            /* normalize: scaling the storage's unit part and normalizing gives the element back */
            for (k = 0; k < G.dim; ++k) c[k] = a[k];
            switch (gi) {
            case 0: c[0] *= 1.5; c[1] *= 1.5; DOPT_FN(dopt_so2_normalize)(c); break;
            case 1: c[2] *= 0.5; c[3] *= 0.5; DOPT_FN(dopt_se2_normalize)(c); break;
            case 2: for (k = 0; k < 4; ++k) c[k] *= 2; DOPT_FN(dopt_so3_normalize)(c); break;
            case 3: for (k = 3; k < 7; ++k) c[k] *= 0.3f; DOPT_FN(dopt_se3_normalize)(c); break;
            default: for (k = 3; k < 7; ++k) c[k] *= 3; DOPT_FN(dopt_sim3_normalize)(c); break;
            }
            for (k = 0; k < G.dim; ++k) e = fmax(e, fabs((double)c[k] - a[k]));
        }
        DOPT_CHECK(e < DOPT_TEST_TOL(1e-12, 1e-5), "%s: interp/normalize %.3g", G.name, e);
    }
    { /* zero quaternion normalizes to identity; random SO3 is unit and covers both hemispheres */
        R_ z[4] = {0, 0, 0, 0}, q[4];
        double mean[4] = {0, 0, 0, 0};
        int k, t;
        DOPT_FN(dopt_so3_normalize)(z);
        DOPT_CHECK(z[3] == 1 && z[0] == 0, "zero quaternion -> identity");
        for (t = 0; t < 2000; ++t) {
            DOPT_FN(dopt_so3_random)(&rng, q);
            for (k = 0; k < 3; ++k) mean[k] += q[k] / 2000.0;
        }
        DOPT_CHECK(fabs(mean[0]) < 0.05 && fabs(mean[1]) < 0.05 && fabs(mean[2]) < 0.05, "random SO3 mean axis");
    }
}

static void DOPT_FN(test_batches)(void)
{
    enum { N = 37, S = 9 }; /* stride 9 > element size: strided batches */
    R_ in[N * S], in2[N * S], out[N * S], J[N * 49], J2[N * 49], one[8], Jo[49], Jo2[49], p[N * 3], y[N * S];
    dopt_rng rng;
    int k, i, bad = 0;
    dopt_rng_seed(&rng, 19, DOPT_IS_FLOAT);
    for (k = 0; k < N * S; ++k) in[k] = (R_)dopt_rng_normal_d(&rng);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_normalize)(in + k * S); }
    for (k = 0; k < N * S; ++k) in2[k] = in[k];
    for (k = 0; k < N; ++k) DOPT_FN(dopt_so3_normalize)(in2 + k * S + 3);
    for (k = 0; k < 3 * N; ++k) p[k] = (R_)dopt_rng_normal_d(&rng);
    /* to rounding: a compiler may fuse multiply-adds differently in the blocked loops */
#define CMP_(a, b, n) do { int q_; for (q_ = 0; q_ < (n); ++q_) bad += fabs((double)(a)[q_] - (b)[q_]) > 4 * DOPT_EPS * (1 + fabs((double)(b)[q_])); } while (0)
    DOPT_FN(dopt_se3_exp_batch)(N, in, S, out, S, J);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_exp)(in + k * S, one, Jo); CMP_(one, out + k * S, 7); CMP_(Jo, J + 36 * k, 36); }
    DOPT_FN(dopt_se3_log_batch)(N, in, S, out, S, J);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_log)(in + k * S, one, Jo); CMP_(one, out + k * S, 6); CMP_(Jo, J + 36 * k, 36); }
    DOPT_FN(dopt_se3_compose_batch)(N, in, S, in2, S, out, S, J, J2);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_compose)(in + k * S, in2 + k * S, one, Jo, Jo2); CMP_(one, out + k * S, 7); CMP_(Jo, J + 36 * k, 36); CMP_(Jo2, J2 + 36 * k, 36); }
    DOPT_FN(dopt_se3_between_batch)(N, in, S, in2, S, out, S, J, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_between)(in + k * S, in2 + k * S, one, Jo, NULL); CMP_(one, out + k * S, 7); CMP_(Jo, J + 36 * k, 36); }
    DOPT_FN(dopt_se3_inverse_batch)(N, in, S, out, S);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_inverse)(in + k * S, one, NULL); CMP_(one, out + k * S, 7); }
    DOPT_FN(dopt_se3_act_batch)(N, in, S, p, 3, y, S, J, J2);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_act)(in + k * S, p + 3 * k, one, Jo, Jo2); CMP_(one, y + k * S, 3); CMP_(Jo, J + 18 * k, 18); CMP_(Jo2, J2 + 9 * k, 9); }
    DOPT_FN(dopt_so3_exp_batch)(N, in, S, out, S, J);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so3_exp)(in + k * S, one, Jo); CMP_(one, out + k * S, 4); CMP_(Jo, J + 9 * k, 9); }
    DOPT_FN(dopt_so3_log_batch)(N, in2 + 3, S, out, S, J);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so3_log)(in2 + 3 + k * S, one, Jo); CMP_(one, out + k * S, 3); CMP_(Jo, J + 9 * k, 9); }
    DOPT_FN(dopt_so3_compose_batch)(N, in2 + 3, S, in2 + 3, S, out, S, J, J2);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so3_compose)(in2 + 3 + k * S, in2 + 3 + k * S, one, Jo, Jo2); CMP_(one, out + k * S, 4); CMP_(Jo, J + 9 * k, 9); }
    DOPT_FN(dopt_so3_act_batch)(N, in2 + 3, S, p, 3, y, S, J, J2);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so3_act)(in2 + 3 + k * S, p + 3 * k, one, Jo, Jo2); CMP_(one, y + k * S, 3); CMP_(Jo, J + 9 * k, 9); }
    for (k = 0; k < N; ++k) DOPT_FN(dopt_se2_normalize)(in + k * S);
    DOPT_FN(dopt_se2_exp_batch)(N, in, S, out, S, J);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se2_exp)(in + k * S, one, Jo); CMP_(one, out + k * S, 4); CMP_(Jo, J + 9 * k, 9); }
    DOPT_FN(dopt_se2_log_batch)(N, in, S, out, S, J);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se2_log)(in + k * S, one, Jo); CMP_(one, out + k * S, 3); CMP_(Jo, J + 9 * k, 9); }
    DOPT_FN(dopt_se2_compose_batch)(N, in, S, in, S, out, S, J, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se2_compose)(in + k * S, in + k * S, one, Jo, NULL); CMP_(one, out + k * S, 4); CMP_(Jo, J + 9 * k, 9); }
    DOPT_FN(dopt_se2_act_batch)(N, in, S, p, 3, y, S, J, J2);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se2_act)(in + k * S, p + 3 * k, one, Jo, Jo2); CMP_(one, y + k * S, 2); CMP_(Jo, J + 6 * k, 6); CMP_(Jo2, J2 + 4 * k, 4); }
    /* SO2 (stored [c s] at offset 2 of the normalized SE2 elements) and Sim3 */
    DOPT_FN(dopt_so2_exp_batch)(N, p, 3, out, S, J);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so2_exp)(p + 3 * k, one, Jo); CMP_(one, out + k * S, 2); CMP_(Jo, J + k, 1); }
    DOPT_FN(dopt_so2_log_batch)(N, in + 2, S, out, S, J);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so2_log)(in + 2 + k * S, one, Jo); CMP_(one, out + k * S, 1); CMP_(Jo, J + k, 1); }
    DOPT_FN(dopt_so2_compose_batch)(N, in + 2, S, in + 2, S, out, S, J, J2);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so2_compose)(in + 2 + k * S, in + 2 + k * S, one, Jo, Jo2); CMP_(one, out + k * S, 2); CMP_(Jo, J + k, 1); CMP_(Jo2, J2 + k, 1); }
    DOPT_FN(dopt_so2_act_batch)(N, in + 2, S, p, 3, y, S, J, J2);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so2_act)(in + 2 + k * S, p + 3 * k, one, Jo, Jo2); CMP_(one, y + k * S, 2); CMP_(Jo, J + 2 * k, 2); CMP_(Jo2, J2 + 4 * k, 4); }
    for (k = 0; k < N; ++k) { in2[k * S + 7] = (R_)(0.5 + 0.1 * (k % 7)); } /* Sim3: [t q s], s > 0 */
    DOPT_FN(dopt_sim3_exp_batch)(N, in, S, out, S, J);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_sim3_exp)(in + k * S, one, Jo); CMP_(one, out + k * S, 8); CMP_(Jo, J + 49 * k, 49); }
    DOPT_FN(dopt_sim3_log_batch)(N, in2, S, out, S, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_sim3_log)(in2 + k * S, one, NULL); CMP_(one, out + k * S, 7); }
    DOPT_FN(dopt_sim3_compose_batch)(N, in2, S, in2, S, out, S, NULL, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_sim3_compose)(in2 + k * S, in2 + k * S, one, NULL, NULL); CMP_(one, out + k * S, 8); }
    DOPT_FN(dopt_sim3_act_batch)(N, in2, S, p, 3, y, S, J, J2);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_sim3_act)(in2 + k * S, p + 3 * k, one, Jo, Jo2); CMP_(one, y + k * S, 3); CMP_(Jo, J + 21 * k, 21); CMP_(Jo2, J2 + 9 * k, 9); }
    /* the Jacobian-free batches take blocked (vectorized) paths: same results */
    DOPT_FN(dopt_se3_compose_batch)(N, in, S, in2, S, out, S, NULL, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_compose)(in + k * S, in2 + k * S, one, NULL, NULL); CMP_(one, out + k * S, 7); }
    DOPT_FN(dopt_se3_act_batch)(N, in2, S, p, 3, y, S, NULL, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_act)(in2 + k * S, p + 3 * k, one, NULL, NULL); CMP_(one, y + k * S, 3); }
    DOPT_FN(dopt_so3_compose_batch)(N, in2 + 3, S, in2 + 3, S, out, S, NULL, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so3_compose)(in2 + 3 + k * S, in2 + 3 + k * S, one, NULL, NULL); CMP_(one, out + k * S, 4); }
    DOPT_FN(dopt_so3_act_batch)(N, in2 + 3, S, p, 3, y, S, NULL, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so3_act)(in2 + 3 + k * S, p + 3 * k, one, NULL, NULL); CMP_(one, y + k * S, 3); }
    DOPT_FN(dopt_so3_exp_batch)(N, in, S, out, S, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so3_exp)(in + k * S, one, NULL); CMP_(one, out + k * S, 4); }
    DOPT_FN(dopt_so3_log_batch)(N, in2 + 3, S, out, S, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_so3_log)(in2 + 3 + k * S, one, NULL); CMP_(one, out + k * S, 3); }
    /* in place (output = input, same stride) */
    for (k = 0; k < N * S; ++k) out[k] = in2[k];
    DOPT_FN(dopt_se3_compose_batch)(N, in, S, out, S, out, S, NULL, NULL);
    for (k = 0; k < N; ++k) { DOPT_FN(dopt_se3_compose)(in + k * S, in2 + k * S, one, NULL, NULL); CMP_(one, out + k * S, 7); }
    for (i = 0; i < 7; ++i) one[i] = out[i];
    DOPT_FN(dopt_se3_exp_batch)(0, in, S, out, S, NULL); /* n = 0: nothing */
    CMP_(one, out, 7);
#undef CMP_
    DOPT_CHECK(bad == 0, "%d batch entries differ from the single-element results", bad);
}

/* Packed batches (strides 7 / 4 / 3, no overlap) take restrict-qualified loops, and above
 * DOPT_LIE_STREAM_BYTES of output (2048 here) non-temporal stores: both agree with single elements. */
static void DOPT_FN(test_batches_packed)(void)
{
    enum { NMAX = 300 };
    static const int sizes[3] = {5, 40, NMAX}; /* 5: cached path; 40, 300: streaming (x86-64) */
    R_ g[7 * NMAX], h[7 * NMAX], p[3 * NMAX], out[7 * NMAX], one[7];
    dopt_rng rng;
    int si, k, j, bad = 0;
    dopt_rng_seed(&rng, 23, DOPT_IS_FLOAT);
    for (k = 0; k < NMAX; ++k) {
        DOPT_FN(dopt_se3_random)(&rng, g + 7 * k);
        DOPT_FN(dopt_se3_random)(&rng, h + 7 * k);
        for (j = 0; j < 3; ++j) p[3 * k + j] = (R_)dopt_rng_normal_d(&rng);
    }
#define CMP_(a, b, n) do { int q_; for (q_ = 0; q_ < (n); ++q_) bad += fabs((double)(a)[q_] - (b)[q_]) > 4 * DOPT_EPS * (1 + fabs((double)(b)[q_])); } while (0)
    for (si = 0; si < 3; ++si) {
        int n = sizes[si];
        for (k = 0; k < 7 * NMAX; ++k) out[k] = (R_)-7;
        DOPT_FN(dopt_se3_compose_batch)(n, g, 7, h, 7, out, 7, NULL, NULL);
        for (k = 0; k < n; ++k) { DOPT_FN(dopt_se3_compose)(g + 7 * k, h + 7 * k, one, NULL, NULL); CMP_(one, out + 7 * k, 7); }
        if (n < NMAX) bad += out[7 * n] != (R_)-7; /* nothing written past the batch */
        DOPT_FN(dopt_se3_act_batch)(n, g, 7, p, 3, out, 3, NULL, NULL);
        for (k = 0; k < n; ++k) { DOPT_FN(dopt_se3_act)(g + 7 * k, p + 3 * k, one, NULL, NULL); CMP_(one, out + 3 * k, 3); }
        DOPT_FN(dopt_so3_compose_batch)(n, g + 3, 7, h + 3, 7, out, 4, NULL, NULL); /* strided inputs */
        for (k = 0; k < n; ++k) { DOPT_FN(dopt_so3_compose)(g + 3 + 7 * k, h + 3 + 7 * k, one, NULL, NULL); CMP_(one, out + 4 * k, 4); }
        for (k = 0; k < n; ++k)
            for (j = 0; j < 4; ++j) h[4 * k + j] = g[7 * k + 3 + j]; /* packed quaternions (stride 4) */
        DOPT_FN(dopt_so3_compose_batch)(n, h, 4, h, 4, out, 4, NULL, NULL);
        for (k = 0; k < n; ++k) { DOPT_FN(dopt_so3_compose)(h + 4 * k, h + 4 * k, one, NULL, NULL); CMP_(one, out + 4 * k, 4); }
        DOPT_FN(dopt_so3_act_batch)(n, h, 4, p, 3, out, 3, NULL, NULL);
        for (k = 0; k < n; ++k) { DOPT_FN(dopt_so3_act)(h + 4 * k, p + 3 * k, one, NULL, NULL); CMP_(one, out + 3 * k, 3); }
        for (k = 0; k < NMAX; ++k) DOPT_FN(dopt_se3_random)(&rng, h + 7 * k);
    }
#undef CMP_
    DOPT_CHECK(bad == 0, "%d packed batch entries differ from the single-element results", bad);
}

static void DOPT_FN(test_manifolds)(void)
{
    dopt_rng rng;
    int gi, trial;
    dopt_rng_seed(&rng, 20, DOPT_IS_FLOAT);
    for (gi = 0; gi < NGROUPS_; ++gi) {
        DOPT_FN(tgroup) G = DOPT_FN(tgroup_get)(gi);
        DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_lie_manifold)((dopt_lie_group)gi);
        double e = 0;
        DOPT_CHECK(m.dim == G.dim && m.tangent_dim == G.td && strcmp(m.name, G.name) == 0 &&
                   m.dim == dopt_lie_dim((dopt_lie_group)gi) && m.tangent_dim == dopt_lie_tangent_dim((dopt_lie_group)gi),
                   "%s descriptor", G.name);
        for (trial = 0; trial < 30; ++trial) {
            R_ x[8], y[8], d[8], d2[8], e1[8], c[8];
            int k;
            G.random(&rng, x);
            DOPT_FN(tangent_at)(&G, &rng, -1, d);
            m.retract(&m, x, d, y);
            G.exp(d, e1, NULL); /* retract = x · Exp(δ) */
            G.compose(x, e1, c, NULL, NULL);
            for (k = 0; k < G.dim; ++k) e = fmax(e, fabs((double)c[k] - y[k]));
            m.local(&m, x, y, d2); /* (x ⊕ δ) ⊖ x = δ */
            e = fmax(e, DOPT_FN(relerr)(d2, d, G.td));
            for (k = 0; k < G.dim; ++k) c[k] = x[k];
            m.retract(&m, c, d, c); /* aliasing */
            for (k = 0; k < G.dim; ++k) e = fmax(e, fabs((double)c[k] - y[k]));
            m.project(&m, c);
            for (k = 0; k < G.dim; ++k) e = fmax(e, fabs((double)c[k] - y[k]));
        }
        DOPT_CHECK(e < DOPT_TEST_TOL(1e-12, 1e-5), "%s: retract/local %.3g", G.name, e);
    }
}

/* FD of a cost w.r.t. variable k, with the manifold retraction of that variable */
static void DOPT_FN(fd_cost)(DOPT_FN(dopt_cost_fn) fn, const void *data, R_ **vars, int nvars, int k,
                             const DOPT_FN(dopt_manifold) *m, int rdim, R_ *F)
{
    R_ xp[16], xm[16], rp[8], rm[8], *save = vars[k], d[16];
    const R_ *const *cv = (const R_ *const *)vars;
    double h = DOPT_FN(fd_h);
    int c, i;
    (void)nvars;
    for (c = 0; c < m->tangent_dim; ++c) {
        for (i = 0; i < m->tangent_dim; ++i) d[i] = 0;
        d[c] = (R_)h;
        m->retract(m, save, d, xp);
        d[c] = (R_)-h;
        m->retract(m, save, d, xm);
        vars[k] = xp;
        fn(data, cv, rp, NULL);
        vars[k] = xm;
        fn(data, cv, rm, NULL);
        vars[k] = save;
        for (i = 0; i < rdim; ++i) F[i * m->tangent_dim + c] = (R_)((rp[i] - rm[i]) / (2 * h));
    }
}

static void DOPT_FN(test_group_costs_fd)(void)
{
    static DOPT_FN(dopt_cost_fn) const priors[5] = {DOPT_FN(dopt_lie_cost_prior_so2), DOPT_FN(dopt_lie_cost_prior_se2),
                                                    DOPT_FN(dopt_lie_cost_prior_so3), DOPT_FN(dopt_lie_cost_prior_se3),
                                                    DOPT_FN(dopt_lie_cost_prior_sim3)};
    static DOPT_FN(dopt_cost_fn) const betweens[5] = {DOPT_FN(dopt_lie_cost_between_so2), DOPT_FN(dopt_lie_cost_between_se2),
                                                      DOPT_FN(dopt_lie_cost_between_so3), DOPT_FN(dopt_lie_cost_between_se3),
                                                      DOPT_FN(dopt_lie_cost_between_sim3)};
    dopt_rng rng;
    int gi, trial;
    dopt_rng_seed(&rng, 21, DOPT_IS_FLOAT);
    for (gi = 0; gi < NGROUPS_; ++gi) {
        DOPT_FN(tgroup) G = DOPT_FN(tgroup_get)(gi);
        DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_lie_manifold)((dopt_lie_group)gi);
        double worst = 0, rerr = 0;
        for (trial = 0; trial < 20; ++trial) {
            DOPT_FN(dopt_lie_prior_data) pd;
            DOPT_FN(dopt_lie_between_data) bd;
            R_ xi[8], xj[8], r[8], Ji[49], Jj[49], F[49], d[8], want[8], t[8];
            R_ *vars[2];
            R_ *Js[2];
            int k;
            G.random(&rng, xi);
            G.random(&rng, pd.target);
            /* measurement near xi⁻¹ xj so residuals are moderate, as in a real graph */
            G.random(&rng, xj);
            G.between(xi, xj, t, NULL, NULL);
            DOPT_FN(tangent_at)(&G, &rng, 0.3, d);
            for (k = 0; k < G.td; ++k) d[k] *= (R_)0.3;
            G.exp(d, r, NULL);
            G.compose(t, r, bd.measurement, NULL, NULL);
            vars[0] = xi;
            vars[1] = xj;
            Js[0] = Ji;
            Js[1] = Jj;
            DOPT_CHECK(priors[gi](&pd, (const R_ *const *)vars, r, Js) == DOPT_OK, "%s prior status", G.name);
            DOPT_FN(gdiff)(&G, pd.target, xi, want);
            rerr = fmax(rerr, DOPT_FN(relerr)(r, want, G.td));
            { /* FD is meaningless across the cut at angle π: skip residuals right at it */
                double ang = 0;
                for (k = 0; k < DOPT_FN(nrot)(&G); ++k) ang += (double)r[DOPT_FN(rot0)(&G) + k] * r[DOPT_FN(rot0)(&G) + k];
                if (sqrt(ang) < 3.1) {
                    DOPT_FN(fd_cost)(priors[gi], &pd, vars, 1, 0, &m, G.td, F);
                    worst = fmax(worst, DOPT_FN(relerr)(Ji, F, G.td * G.td));
                }
            }
            DOPT_CHECK(betweens[gi](&bd, (const R_ *const *)vars, r, Js) == DOPT_OK, "%s between status", G.name);
            G.between(bd.measurement, t, t, NULL, NULL); /* meas⁻¹ xi⁻¹ xj */
            G.log(t, want, NULL);
            rerr = fmax(rerr, DOPT_FN(relerr)(r, want, G.td));
            DOPT_FN(fd_cost)(betweens[gi], &bd, vars, 2, 0, &m, G.td, F);
            worst = fmax(worst, DOPT_FN(relerr)(Ji, F, G.td * G.td));
            DOPT_FN(fd_cost)(betweens[gi], &bd, vars, 2, 1, &m, G.td, F);
            worst = fmax(worst, DOPT_FN(relerr)(Jj, F, G.td * G.td));
            /* J may be NULL, or have NULL entries */
            Js[0] = NULL;
            DOPT_CHECK(betweens[gi](&bd, (const R_ *const *)vars, t, Js) == DOPT_OK && DOPT_FN(relerr)(t, r, G.td) == 0, "partial J");
            DOPT_CHECK(betweens[gi](&bd, (const R_ *const *)vars, t, NULL) == DOPT_OK && DOPT_FN(relerr)(t, r, G.td) == 0, "no J");
        }
        DOPT_CHECK(worst < FD_TOL_, "%s costs: FD error %.3g", G.name, worst);
        DOPT_CHECK(rerr < DOPT_TEST_TOL(1e-13, 1e-5), "%s costs: residual %.3g", G.name, rerr);
    }
}

static void DOPT_FN(test_camera_costs_fd)(void)
{
    dopt_rng rng;
    int trial, k;
    double wp = 0, wb = 0;
    DOPT_FN(dopt_manifold) mse3 = DOPT_FN(dopt_lie_manifold_se3)();
    DOPT_FN(dopt_manifold) e9 = DOPT_FN(dopt_manifold_euclidean)(9), e3 = DOPT_FN(dopt_manifold_euclidean)(3);
    dopt_rng_seed(&rng, 22, DOPT_IS_FLOAT);
    for (trial = 0; trial < 30; ++trial) {
        DOPT_FN(dopt_lie_pinhole_data) pd;
        DOPT_FN(dopt_lie_bal_data) bd;
        R_ T[7], X[3], cam[9], r[2], J0[18], J1[6], F[18], *vars[2], *Js[2], P[3];
        double s;
        /* a camera looking at a point 2..6 units in front of it */
        DOPT_FN(dopt_se3_random)(&rng, T);
        for (k = 0; k < 3; ++k) P[k] = (R_)(0.5 * dopt_rng_normal_d(&rng));
        P[2] = (R_)(2 + 4 * dopt_rng_uniform_d(&rng));
        { R_ Ti[7]; DOPT_FN(dopt_se3_inverse)(T, Ti, NULL); DOPT_FN(dopt_se3_act)(Ti, P, X, NULL, NULL); }
        pd.fx = (R_)500; pd.fy = (R_)480; pd.cx = (R_)320; pd.cy = (R_)240;
        pd.observed[0] = (R_)300; pd.observed[1] = (R_)250;
        vars[0] = T; vars[1] = X; Js[0] = J0; Js[1] = J1;
        DOPT_CHECK(DOPT_FN(dopt_lie_cost_pinhole)(&pd, (const R_ *const *)vars, r, Js) == DOPT_OK, "pinhole status");
        DOPT_CHECK_CLOSE(r[0], 500 * P[0] / P[2] + 20, DOPT_TEST_TOL(1e-10, 1e-4), "pinhole r0");
        s = 500; /* Jacobians scale with f: compare relative to it */
        DOPT_FN(fd_cost)(DOPT_FN(dopt_lie_cost_pinhole), &pd, vars, 2, 0, &mse3, 2, F);
        wp = fmax(wp, DOPT_FN(relerr)(J0, F, 12) * (DOPT_IS_FLOAT ? 1 / s : 1));
        DOPT_FN(fd_cost)(DOPT_FN(dopt_lie_cost_pinhole), &pd, vars, 2, 1, &e3, 2, F);
        wp = fmax(wp, DOPT_FN(relerr)(J1, F, 6) * (DOPT_IS_FLOAT ? 1 / s : 1));
        /* BAL: P = R(a) X + t with Pz < 0 (BAL cameras look down -z) */
        for (k = 0; k < 3; ++k) cam[k] = (R_)(0.8 * dopt_rng_normal_d(&rng));
        for (k = 0; k < 3; ++k) X[k] = (R_)dopt_rng_normal_d(&rng);
        {
            R_ q[4], RX[3];
            DOPT_FN(dopt_so3_exp)(cam, q, NULL);
            DOPT_FN(dopt_so3_act)(q, X, RX, NULL, NULL);
            cam[3] = (R_)(0.3 * dopt_rng_normal_d(&rng));
            cam[4] = (R_)(0.3 * dopt_rng_normal_d(&rng));
            cam[5] = -RX[2] - (R_)(3 + 3 * dopt_rng_uniform_d(&rng));
        }
        cam[6] = (R_)(400 + 200 * dopt_rng_uniform_d(&rng));
        cam[7] = (R_)(0.1 * dopt_rng_normal_d(&rng));
        cam[8] = (R_)(0.05 * dopt_rng_normal_d(&rng));
        bd.observed[0] = (R_)10; bd.observed[1] = (R_)-20;
        vars[0] = cam; vars[1] = X; Js[0] = J0; Js[1] = J1;
        DOPT_CHECK(DOPT_FN(dopt_lie_cost_bal)(&bd, (const R_ *const *)vars, r, Js) == DOPT_OK, "bal status");
        DOPT_FN(fd_cost)(DOPT_FN(dopt_lie_cost_bal), &bd, vars, 2, 0, &e9, 2, F);
        wb = fmax(wb, DOPT_FN(relerr)(J0, F, 18) * (DOPT_IS_FLOAT ? 1 / s : 1));
        DOPT_FN(fd_cost)(DOPT_FN(dopt_lie_cost_bal), &bd, vars, 2, 1, &e3, 2, F);
        wb = fmax(wb, DOPT_FN(relerr)(J1, F, 6) * (DOPT_IS_FLOAT ? 1 / s : 1));
        { /* residual against a direct evaluation */
            R_ q[4], Pc[3];
            double px, py, n2, rho;
            DOPT_FN(dopt_so3_exp)(cam, q, NULL);
            DOPT_FN(dopt_so3_act)(q, X, Pc, NULL, NULL);
            for (k = 0; k < 3; ++k) Pc[k] += cam[3 + k];
            px = -(double)Pc[0] / Pc[2]; py = -(double)Pc[1] / Pc[2];
            n2 = px * px + py * py;
            rho = 1 + cam[7] * n2 + cam[8] * n2 * n2;
            DOPT_CHECK_CLOSE(r[0], cam[6] * rho * px - 10, DOPT_TEST_TOL(1e-10, 1e-3), "bal r0");
            DOPT_CHECK_CLOSE(r[1], cam[6] * rho * py + 20, DOPT_TEST_TOL(1e-10, 1e-3), "bal r1");
        }
    }
    DOPT_CHECK(wp < FD_TOL_, "pinhole FD error %.3g", wp);
    DOPT_CHECK(wb < FD_TOL_, "bal FD error %.3g", wb);
    { /* a point on the camera plane gives a non-finite residual */
        DOPT_FN(dopt_lie_pinhole_data) pd;
        R_ T[7], X[3] = {1, 0, 0}, r[2], *vars[2];
        memset(&pd, 0, sizeof pd);
        pd.fx = pd.fy = 1;
        DOPT_FN(dopt_se3_identity)(T);
        vars[0] = T; vars[1] = X;
        DOPT_CHECK(DOPT_FN(dopt_lie_cost_pinhole)(&pd, (const R_ *const *)vars, r, NULL) == DOPT_ERR_NON_FINITE, "z = 0");
    }
}

static void DOPT_FN(test_cube_graph)(void)
{
    dopt_lie_cube_options o;
    DOPT_FN(dopt_lie_pose_graph) g, g2;
    dopt_rng rng, rng2;
    fail_alloc c;
    dopt_hooks h = fa_hooks(&c);
    long k, odo = 0, outl = 0, bad = 0;
    double err_odo = 0;
    fa_reset(&c, 0);
    memset(&o, 0, sizeof o);
    o.num_poses = 200;
    o.outlier_ratio = 0.25;
    dopt_rng_seed(&rng, 5, 0);
    DOPT_CHECK(DOPT_FN(dopt_lie_cube_graph)(&o, &rng, &h, &g) == DOPT_OK, "generate");
    DOPT_CHECK(g.group == DOPT_LIE_SE3 && g.num_poses == 200 && g.dim == 7 && g.tangent_dim == 6, "shape");
    DOPT_CHECK(g.num_edges > 199 + 20 && g.gt_poses && g.inlier, "loop closures exist: %ld edges", (long)g.num_edges);
    for (k = 0; k < g.num_edges; ++k) {
        DOPT_FN(dopt_lie_pose_graph_edge) *e = g.edges + k;
        R_ rel[7], d[7], l[6];
        int a;
        if (e->i < 0 || e->j >= g.num_poses || e->i >= e->j) bad++;
        if (e->j == e->i + 1) odo++;
        if (!g.inlier[k]) outl++;
        DOPT_FN(dopt_se3_between)(g.gt_poses + 7 * e->i, g.gt_poses + 7 * e->j, rel, NULL, NULL);
        DOPT_FN(dopt_se3_between)(rel, e->measurement, d, NULL, NULL);
        DOPT_FN(dopt_se3_log)(d, l, NULL);
        if (g.inlier[k]) /* noise is uniform within the half-widths */
            for (a = 0; a < 6; ++a) err_odo = fmax(err_odo, fabs((double)l[a]) / (a < 3 ? 0.05 : 0.02));
        if (fabs(e->information[0] - 400.0) > 1e-3 || fabs(e->information[35] - 2500.0) > 1e-2 || e->information[1] != 0) bad++;
    }
    DOPT_CHECK(bad == 0, "%ld bad edges", bad);
    DOPT_CHECK(odo == 199, "odometry edges %ld", odo);
    DOPT_CHECK(outl > 0 && outl < (g.num_edges - odo) / 2, "outliers %ld of %ld loop closures", outl, (long)(g.num_edges - odo));
    DOPT_CHECK(err_odo < 1.001, "inlier noise within its uniform bounds: %.3g", err_odo);
    /* deterministic */
    dopt_rng_seed(&rng2, 5, 0);
    DOPT_CHECK(DOPT_FN(dopt_lie_cube_graph)(&o, &rng2, NULL, &g2) == DOPT_OK, "generate again");
    DOPT_CHECK(g2.num_edges == g.num_edges && memcmp(g2.poses, g.poses, sizeof(R_) * 7 * 200) == 0, "deterministic");
    DOPT_FN(dopt_lie_pose_graph_destroy)(&g2);
    DOPT_FN(dopt_lie_pose_graph_destroy)(&g);
    DOPT_CHECK(fa_clean(&c), "leak: %ld blocks %lu bytes", c.live, (unsigned long)c.bytes);
    /* defaults and no outliers */
    DOPT_CHECK(DOPT_FN(dopt_lie_cube_graph)(NULL, &rng, NULL, &g) == DOPT_OK && g.num_poses == 256, "defaults");
    for (k = 0, outl = 0; k < g.num_edges; ++k) outl += !g.inlier[k];
    DOPT_CHECK(outl == 0, "no outliers by default");
    DOPT_FN(dopt_lie_pose_graph_destroy)(&g);
    /* allocation failures at every step are reported and leak nothing */
    for (k = 0; k < 8; ++k) {
        fail_alloc cf;
        dopt_hooks hf = fa_hooks(&cf);
        dopt_status st;
        fa_reset(&cf, k + 1); /* allocations after the k-th fail */
        cf.fail_all_after = 1;
        st = DOPT_FN(dopt_lie_cube_graph)(&o, &rng, &hf, &g);
        if (st == DOPT_OK) DOPT_FN(dopt_lie_pose_graph_destroy)(&g);
        else DOPT_CHECK(st == DOPT_ERR_ALLOCATION, "fail %ld: %s", k, dopt_status_string(st));
        DOPT_CHECK(fa_clean(&cf), "fail %ld leaks %ld blocks", k, cf.live);
    }
    o.num_poses = 1;
    DOPT_CHECK(DOPT_FN(dopt_lie_cube_graph)(&o, &rng, NULL, &g) == DOPT_ERR_INVALID_ARGUMENT, "num_poses 1");
}

/* issue 24 (minor): so2_log / se2_log gave -π for s = -0 (documented range (-π, π]);
 * so3_normalize turned NaN into the identity and overflowed quaternions above ~1e154 to zeros */
static void DOPT_FN(test_log_range_normalize)(void)
{
    DOPT_REAL g2[2] = {-1, -(DOPT_REAL)0.0}, g4[4] = {1, 2, -1, -(DOPT_REAL)0.0}, th, xi[3];
    DOPT_REAL q[4], big = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e30 : 1e200), tiny = (DOPT_REAL)(DOPT_IS_FLOAT ? 1e-30 : 1e-200);
    int k;
    DOPT_FN(dopt_so2_log)(g2, &th, NULL);
    DOPT_CHECK(th > 0 && th == (DOPT_REAL)3.14159265358979323846, "so2_log(-1, -0) = %g", (double)th);
    DOPT_FN(dopt_se2_log)(g4, xi, NULL);
    DOPT_CHECK(xi[2] > 0 && xi[2] == (DOPT_REAL)3.14159265358979323846, "se2_log angle at s = -0: %g", (double)xi[2]);
    q[0] = (DOPT_REAL)NAN; q[1] = 0; q[2] = 0; q[3] = 1;
    DOPT_FN(dopt_so3_normalize)(q);
    DOPT_CHECK(q[3] != q[3], "so3_normalize(NaN) gave %g %g %g %g", (double)q[0], (double)q[1], (double)q[2], (double)q[3]);
    q[0] = big; q[1] = big; q[2] = 0; q[3] = 0;
    DOPT_FN(dopt_so3_normalize)(q);
    DOPT_CHECK_CLOSE(q[0], sqrt(0.5), DOPT_TEST_TOL(1e-15, 1e-6), "huge q x");
    DOPT_CHECK_CLOSE(q[1], sqrt(0.5), DOPT_TEST_TOL(1e-15, 1e-6), "huge q y");
    q[0] = 0; q[1] = 0; q[2] = 3 * tiny; q[3] = 4 * tiny;
    DOPT_FN(dopt_so3_normalize)(q);
    DOPT_CHECK_CLOSE(q[2], 0.6, DOPT_TEST_TOL(1e-15, 1e-6), "tiny q z");
    DOPT_CHECK_CLOSE(q[3], 0.8, DOPT_TEST_TOL(1e-15, 1e-6), "tiny q w");
    for (k = 0; k < 4; ++k) q[k] = 0;
    DOPT_FN(dopt_so3_normalize)(q);
    DOPT_CHECK(q[3] == 1 && q[0] == 0, "zero quaternion: identity");
    { /* an unknown group was silently SE3 */
        DOPT_FN(dopt_manifold) m = DOPT_FN(dopt_lie_manifold)((dopt_lie_group)42);
        DOPT_FN(dopt_nlls_problem) *p = NULL;
        int v;
        DOPT_CHECK(m.dim == 0 && m.retract == NULL, "group 42 gave a descriptor of dim %d", m.dim);
        DOPT_CHECK(DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p) == DOPT_OK, "problem");
        DOPT_CHECK(DOPT_FN(dopt_nlls_add_variable)(p, &m, &v) == DOPT_ERR_INVALID_ARGUMENT, "group 42 accepted");
        DOPT_FN(dopt_nlls_problem_destroy)(p);
    }
}

static void DOPT_FN(test_g2o_roundtrip)(void)
{
    DOPT_FN(dopt_lie_pose_graph) g, r;
    dopt_lie_cube_options o;
    dopt_rng rng;
    dopt_errinfo info;
    fail_alloc c;
    dopt_hooks h = fa_hooks(&c);
    const char *tmp = dopt_test_temp_path(DOPT_IS_FLOAT ? "lie_rt_f.g2o" : "lie_rt_d.g2o");
    long k;
    int a, bad = 0;
    fa_reset(&c, 0);
    memset(&o, 0, sizeof o);
    o.num_poses = 60;
    dopt_rng_seed(&rng, 9, 1);
    DOPT_CHECK(DOPT_FN(dopt_lie_cube_graph)(&o, &rng, NULL, &g) == DOPT_OK, "generate");
    /* make the information a full symmetric matrix, off-diagonals included */
    for (k = 0; k < g.num_edges; ++k)
        for (a = 0; a < 5; ++a) g.edges[k].information[a * 6 + a + 1] = g.edges[k].information[(a + 1) * 6 + a] = (R_)(0.5 + a);
    if (DOPT_FN(dopt_lie_g2o_write)(tmp, &g, &info) != DOPT_OK) {
        DOPT_FN(dopt_lie_pose_graph_destroy)(&g);
        DOPT_SKIP("cannot write temp file");
    }
    DOPT_CHECK(DOPT_FN(dopt_lie_g2o_read)(tmp, &h, &r, &info) == DOPT_OK, "read back: %s", info.message);
    DOPT_CHECK(r.num_poses == g.num_poses && r.num_edges == g.num_edges && r.group == DOPT_LIE_SE3, "counts");
    for (k = 0; k < g.num_poses && k < r.num_poses; ++k)
        for (a = 0; a < 7; ++a) bad += r.poses[7 * k + a] != g.poses[7 * k + a];
    for (k = 0; k < g.num_edges && k < r.num_edges; ++k) {
        bad += r.edges[k].i != g.edges[k].i || r.edges[k].j != g.edges[k].j;
        for (a = 0; a < 7; ++a) bad += r.edges[k].measurement[a] != g.edges[k].measurement[a];
        for (a = 0; a < 36; ++a) bad += r.edges[k].information[a] != g.edges[k].information[a];
    }
    DOPT_CHECK(bad == 0, "%d entries differ after write/read", bad);
    DOPT_FN(dopt_lie_pose_graph_destroy)(&r);
    DOPT_CHECK(fa_clean(&c), "reader leaks %ld blocks", c.live);
    /* allocation failure inside the reader */
    for (k = 0; k < 6; ++k) {
        fail_alloc cf;
        dopt_hooks hf = fa_hooks(&cf);
        dopt_status st;
        fa_reset(&cf, k + 1); /* allocations after the k-th fail */
        cf.fail_all_after = 1;
        st = DOPT_FN(dopt_lie_g2o_read)(tmp, &hf, &r, &info);
        if (st == DOPT_OK) DOPT_FN(dopt_lie_pose_graph_destroy)(&r);
        else DOPT_CHECK(st == DOPT_ERR_ALLOCATION, "fail %ld: %s", k, dopt_status_string(st));
        DOPT_CHECK(fa_clean(&cf), "fail %ld leaks %ld blocks", k, cf.live);
    }
    DOPT_FN(dopt_lie_pose_graph_destroy)(&g);
    /* SE2: a small graph */
    {
        R_ xyt[3];
        memset(&g, 0, sizeof g);
        g.group = DOPT_LIE_SE2; g.dim = 4; g.tangent_dim = 3; g.num_poses = 3; g.num_edges = 2;
        g.poses = (R_ *)malloc(sizeof(R_) * 12);
        g.edges = (DOPT_FN(dopt_lie_pose_graph_edge) *)calloc(2, sizeof *g.edges);
        for (k = 0; k < 3; ++k) { xyt[0] = (R_)k; xyt[1] = (R_)(k * k); xyt[2] = (R_)(0.5 * k - 0.3); DOPT_FN(dopt_se2_from_xytheta)(xyt, g.poses + 4 * k); }
        for (k = 0; k < 2; ++k) {
            g.edges[k].i = k; g.edges[k].j = k + 1;
            DOPT_FN(dopt_se2_between)(g.poses + 4 * k, g.poses + 4 * k + 4, g.edges[k].measurement, NULL, NULL);
            for (a = 0; a < 9; ++a) g.edges[k].information[a] = (R_)(a == 0 || a == 4 || a == 8 ? 10 : (a == 1 || a == 3) ? 1 : 0);
        }
        DOPT_CHECK(DOPT_FN(dopt_lie_g2o_write)(tmp, &g, &info) == DOPT_OK, "write se2");
        DOPT_CHECK(DOPT_FN(dopt_lie_g2o_read)(tmp, NULL, &r, &info) == DOPT_OK, "read se2: %s", info.message);
        bad = 0;
        for (k = 0; k < 12 && r.poses; ++k) bad += fabs((double)r.poses[k] - g.poses[k]) > 4 * DOPT_EPS;
        for (k = 0; k < 2 && r.edges; ++k)
            for (a = 0; a < 9; ++a) bad += r.edges[k].information[a] != g.edges[k].information[a];
        DOPT_CHECK(bad == 0 && r.num_edges == 2 && r.group == DOPT_LIE_SE2, "se2 round trip (%d)", bad);
        DOPT_FN(dopt_lie_pose_graph_destroy)(&r);
        free(g.poses);
        free(g.edges);
    }
    remove(tmp);
}

/* End to end with dopt.h's least-squares layer: SE3 manifold variables + between costs on a cube
 * graph, started from dead reckoning; LM must reach the chi² level of the noise and pull the
 * trajectory back to the ground truth. */
static void DOPT_FN(test_cube_pgo_nlls)(void)
{
    dopt_lie_cube_options o;
    DOPT_FN(dopt_lie_pose_graph) g;
    dopt_rng rng;
    DOPT_FN(dopt_nlls_problem) *p = NULL;
    DOPT_FN(dopt_nlls_solver) *s = NULL;
    DOPT_FN(dopt_lie_between_data) *meas;
    DOPT_FN(dopt_manifold) se3 = DOPT_FN(dopt_lie_manifold_se3)();
    dopt_nlls_report rep;
    R_ *w, *x;
    double e0 = 0, e1 = 0;
    long k;
    int a;
    memset(&o, 0, sizeof o);
    o.num_poses = dopt_test_quick() ? 30 : 60;
    dopt_rng_seed(&rng, 77, 0);
    DOPT_CHECK(DOPT_FN(dopt_lie_cube_graph)(&o, &rng, NULL, &g) == DOPT_OK, "generate");
    meas = (DOPT_FN(dopt_lie_between_data) *)malloc(sizeof *meas * (size_t)g.num_edges);
    w = (R_ *)malloc(sizeof(R_) * 6 * (size_t)g.num_edges);
    x = (R_ *)malloc(sizeof(R_) * 7 * (size_t)g.num_poses);
    DOPT_CHECK(DOPT_FN(dopt_nlls_problem_create)(NULL, 1, &p) == DOPT_OK, "problem");
    for (k = 0; k < g.num_poses; ++k) DOPT_FN(dopt_nlls_add_variable)(p, &se3, NULL);
    DOPT_FN(dopt_nlls_set_constant)(p, 0, 1);
    for (k = 0; k < g.num_edges; ++k) {
        DOPT_FN(dopt_nlls_cost_desc) d;
        int vars[2];
        memset(&d, 0, sizeof d);
        vars[0] = (int)g.edges[k].i;
        vars[1] = (int)g.edges[k].j;
        for (a = 0; a < 7; ++a) meas[k].measurement[a] = g.edges[k].measurement[a];
        for (a = 0; a < 6; ++a) w[6 * k + a] = DOPT_M(sqrt)(g.edges[k].information[7 * a]);
        d.fn = DOPT_FN(dopt_lie_cost_between_se3);
        d.data = &meas[k];
        d.rdim = 6;
        d.nvars = 2;
        d.vars = vars;
        d.weight_kind = DOPT_WEIGHT_DIAGONAL;
        d.weight = w + 6 * k;
        DOPT_CHECK(DOPT_FN(dopt_nlls_add_cost)(p, &d, NULL) == DOPT_OK, "add cost");
    }
    for (a = 0; a < 7; ++a) x[a] = g.gt_poses[a];
    for (k = 0; k < g.num_edges; ++k) /* dead reckoning */
        if (g.edges[k].j == g.edges[k].i + 1)
            DOPT_FN(dopt_se3_compose)(x + 7 * g.edges[k].i, g.edges[k].measurement, x + 7 * g.edges[k].j, NULL, NULL);
    for (k = 0; k < g.num_poses; ++k)
        for (a = 0; a < 3; ++a) e0 += DOPT_M(pow)(x[7 * k + a] - g.gt_poses[7 * k + a], 2);
    DOPT_CHECK(DOPT_FN(dopt_nlls_solver_create)(p, NULL, &s, NULL) == DOPT_OK, "solver");
    DOPT_CHECK(s && DOPT_FN(dopt_nlls_solve)(s, NULL, x, 0, &rep, NULL, NULL) == DOPT_OK, "solve");
    for (k = 0; k < g.num_poses; ++k)
        for (a = 0; a < 3; ++a) e1 += DOPT_M(pow)(x[7 * k + a] - g.gt_poses[7 * k + a], 2);
    /* uniform noise of half-width σ has variance σ²/3: the optimum sits near (m - n)/6 */
    DOPT_CHECK(rep.final_cost < 0.5 * (6.0 * g.num_edges - 6.0 * (g.num_poses - 1)) / 3 * 1.5,
               "final cost %.4g (edges %ld)", rep.final_cost, (long)g.num_edges);
    DOPT_CHECK(e1 < 0.2 * e0, "position error %.3g -> %.3g", sqrt(e0), sqrt(e1));
    DOPT_FN(dopt_nlls_solver_destroy)(s);
    DOPT_FN(dopt_nlls_problem_destroy)(p);
    DOPT_FN(dopt_lie_pose_graph_destroy)(&g);
    free(meas);
    free(w);
    free(x);
}

#undef R_
#endif
