/* fuzz_g2o.c — dopt_lie_g2o_read on arbitrary bytes (double and float).  Rule checked: a clean
 * status; on OK a consistent graph (ids in range, finite poses, unit quaternions / rotations,
 * finite information); memory bounded by the input's size; nothing leaked, exact free sizes. */
#define DOPT_IMPLEMENTATION
#include "dopt.h"
#include "dopt_lie.h"
#include "tests/fuzz/fuzz_common.h"

static void check_graph_d(const dopt_lie_pose_graph_d *g)
{
    long k;
    int q;
    FZ_ASSERT(g->num_poses >= 1 && g->poses != NULL, "OK graph without poses");
    FZ_ASSERT(g->group == DOPT_LIE_SE2 || g->group == DOPT_LIE_SE3, "group");
    FZ_ASSERT(dopt_all_finite_d((int)(g->num_poses * g->dim), g->poses), "non-finite pose with OK");
    for (k = 0; k < g->num_poses; ++k) {
        const double *x = g->poses + k * g->dim;
        double n = g->dim == 4 ? x[2] * x[2] + x[3] * x[3] : x[3] * x[3] + x[4] * x[4] + x[5] * x[5] + x[6] * x[6];
        FZ_ASSERT(fabs(n - 1) < 1e-9, "pose rotation not unit");
    }
    for (k = 0; k < g->num_edges; ++k) {
        const dopt_lie_pose_graph_edge_d *e = g->edges + k;
        FZ_ASSERT(e->i >= 0 && e->i < g->num_poses && e->j >= 0 && e->j < g->num_poses, "edge id out of range");
        FZ_ASSERT(dopt_all_finite_d(g->dim, e->measurement), "non-finite measurement");
        FZ_ASSERT(dopt_all_finite_d(g->tangent_dim * g->tangent_dim, e->information), "non-finite information");
        for (q = 0; q < 1; ++q) {
            const double *m = e->measurement;
            double n = g->dim == 4 ? m[2] * m[2] + m[3] * m[3] : m[3] * m[3] + m[4] * m[4] + m[5] * m[5] + m[6] * m[6];
            FZ_ASSERT(fabs(n - 1) < 1e-9, "edge rotation not unit");
        }
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    const char *path = fz_file(data, size, "g2o");
    dopt_lie_pose_graph_d g;
    dopt_lie_pose_graph_f gf;
    dopt_errinfo info;
    dopt_hooks h = fz_hooks(0);
    dopt_status st = dopt_lie_g2o_read_d(path, &h, &g, &info);
    FZ_ASSERT(st == DOPT_OK || st == DOPT_ERR_PARSE || st == DOPT_ERR_UNSUPPORTED || st == DOPT_ERR_NON_FINITE, "unexpected status");
    /* memory follows the lines: a line of n bytes costs at most a pose and an edge record */
    FZ_ASSERT(fz_fa.peak_bytes <= 65536 + 2048 * (size_t)size + 1024 * 7 * 8 * 4, "memory out of proportion with the file");
    if (st == DOPT_OK) check_graph_d(&g);
    else FZ_ASSERT(g.poses == NULL && g.edges == NULL && g.num_poses == 0, "failed read left a graph");
    dopt_lie_pose_graph_destroy_d(&g);
    FZ_ASSERT(fa_clean(&fz_fa), "leak or wrong free size (double)");
    h = fz_hooks(0);
    st = dopt_lie_g2o_read_f(path, &h, &gf, &info);
    if (st == DOPT_OK) FZ_ASSERT(dopt_all_finite_f((int)(gf.num_poses * gf.dim), gf.poses), "non-finite float pose with OK");
    dopt_lie_pose_graph_destroy_f(&gf);
    FZ_ASSERT(fa_clean(&fz_fa), "leak or wrong free size (float)");
    /* the same input with its first allocation failing: ALLOCATION (or the same early error) */
    h = fz_hooks(1);
    st = dopt_lie_g2o_read_d(path, &h, &g, &info);
    FZ_ASSERT(st != DOPT_OK || fz_fa.calls == 0, "OK after a failed allocation");
    dopt_lie_pose_graph_destroy_d(&g);
    FZ_ASSERT(fa_clean(&fz_fa), "leak after a failed allocation");
    return 0;
}
