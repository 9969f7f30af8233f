/* tests/lane_solver.h — a TEST linear solver with the lane batch (batch_width, reserve_batch,
 * factor_batch, solve_batch), for the lockstep Levenberg-Marquardt tests of test_nlls.c and
 * test_backward.c.  It wraps dopt_linear_solver_dense and does each lane's work with the dense
 * solver's own factor() and solve() in a slot of its own, so a lockstep solve must give results
 * bit-identical to a sequential one.  It counts its calls, so a test can see which path ran.
 *
 * Slots of the wrapped dense solver: 0 .. user-1 are the layer's (reserve/select, for
 * keep_factors), user .. user+LANE_W-1 the lanes (after reserve_batch).  factor_batch and
 * solve_batch leave the layer's selected slot selected.
 *
 * Include it inside a precision pass (DOPT_REAL / DOPT_FN defined), after dopt.h. */

#ifndef LANE_W
#define LANE_W 4
#endif

typedef struct DOPT_FN(lane_ls) {
    DOPT_FN(dopt_linear_solver) dense;
    int user;            /* the layer's slots (reserve's count; 1 before any reserve)              */
    int cur;             /* the layer's selected slot                                              */
    int lanes;           /* LANE_W after reserve_batch, else 0                                     */
    int fail_reserve;    /* 1: reserve_batch answers DOPT_ERR_ALLOCATION                           */
    dopt_status last[LANE_W];
    int last_count;
    long batch_calls;    /* factor_batch calls                                                     */
    long lanes_factored; /* matrices they factored                                                 */
    int max_count;       /* the largest count one factor_batch got                                 */
    long solve_calls;    /* solve_batch calls                                                      */
    long lanes_failed;   /* lanes whose factorization failed                                       */
} DOPT_FN(lane_ls);

static dopt_status DOPT_FN(lane_analyze)(void *self, const dopt_block_pattern *pat, dopt_errinfo *info)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)self;
    w->user = 1;
    w->cur = 0;
    w->lanes = 0;
    return w->dense.analyze(w->dense.self, pat, info);
}

static dopt_status DOPT_FN(lane_factor)(void *self, const DOPT_REAL *values, const DOPT_REAL *diag_add,
                                        int *fail_col)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)self;
    return w->dense.factor(w->dense.self, values, diag_add, fail_col);
}

static dopt_status DOPT_FN(lane_solve)(void *self, DOPT_REAL *rhs)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)self;
    return w->dense.solve(w->dense.self, rhs);
}

static void DOPT_FN(lane_destroy)(void *self)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)self;
    w->dense.destroy(w->dense.self);
    free(w);
}

static dopt_status DOPT_FN(lane_reserve)(void *self, int count)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)self;
    dopt_status st = w->dense.reserve(w->dense.self, count + w->lanes);
    if (st != DOPT_OK) return st;
    w->user = count;
    w->cur = 0;
    return DOPT_OK;
}

static void DOPT_FN(lane_select)(void *self, int slot)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)self;
    w->cur = slot;
    w->dense.select(w->dense.self, slot);
}

static dopt_status DOPT_FN(lane_reserve_batch)(void *self)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)self;
    dopt_status st;
    if (w->fail_reserve) return DOPT_ERR_ALLOCATION;
    st = w->dense.reserve(w->dense.self, w->user + LANE_W);
    if (st != DOPT_OK) return st;
    w->lanes = LANE_W;
    w->cur = 0;
    return DOPT_OK;
}

static dopt_status DOPT_FN(lane_factor_batch)(void *self, int count, const DOPT_REAL *const *values,
                                              const DOPT_REAL *const *diag_add, dopt_status *status,
                                              int *fail_col)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)self;
    int l;
    if (!w->lanes || count < 1 || count > LANE_W) return DOPT_ERR_INVALID_ARGUMENT;
    for (l = 0; l < count; ++l) {
        w->dense.select(w->dense.self, w->user + l);
        fail_col[l] = -1;
        status[l] = w->last[l] = w->dense.factor(w->dense.self, values[l], diag_add ? diag_add[l] : NULL,
                                                 fail_col + l);
    }
    w->dense.select(w->dense.self, w->cur);
    w->last_count = count;
    w->batch_calls++;
    w->lanes_factored += count;
    for (l = 0; l < count; ++l) w->lanes_failed += status[l] != DOPT_OK;
    if (count > w->max_count) w->max_count = count;
    return DOPT_OK;
}

static void DOPT_FN(lane_solve_batch)(void *self, int count, DOPT_REAL *const *rhs)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)self;
    int l;
    for (l = 0; l < count && l < w->last_count; ++l) {
        if (w->last[l] != DOPT_OK) continue;
        w->dense.select(w->dense.self, w->user + l);
        w->dense.solve(w->dense.self, rhs[l]);
    }
    w->dense.select(w->dense.self, w->cur);
    w->solve_calls++;
}

/* the wrapper in *out; *stats (may be NULL) gets its state, to read the counters (owned by the
 * nlls solver once handed to it).  fail_reserve: reserve_batch fails (the layer must stay
 * sequential).  Returns the dense solver's status. */
static dopt_status DOPT_FN(lane_solver)(int fail_reserve, DOPT_FN(dopt_linear_solver) *out,
                                        DOPT_FN(lane_ls) **stats)
{
    DOPT_FN(lane_ls) *w = (DOPT_FN(lane_ls) *)calloc(1, sizeof *w);
    dopt_status st;
    if (!w) return DOPT_ERR_ALLOCATION;
    st = DOPT_FN(dopt_linear_solver_dense)(NULL, &w->dense);
    if (st != DOPT_OK) { free(w); return st; }
    w->fail_reserve = fail_reserve;
    w->user = 1;
    memset(out, 0, sizeof *out);
    out->self = w;
    out->analyze = DOPT_FN(lane_analyze);
    out->factor = DOPT_FN(lane_factor);
    out->solve = DOPT_FN(lane_solve);
    out->destroy = DOPT_FN(lane_destroy);
    out->reserve = DOPT_FN(lane_reserve);
    out->select = DOPT_FN(lane_select);
    out->batch_width = LANE_W;
    out->reserve_batch = DOPT_FN(lane_reserve_batch);
    out->factor_batch = DOPT_FN(lane_factor_batch);
    out->solve_batch = DOPT_FN(lane_solve_batch);
    if (stats) *stats = w;
    return DOPT_OK;
}
