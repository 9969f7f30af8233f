/* examples/nlls_sparse.h — dopt_sparse.h's supernodal Cholesky as a linear solver of dopt.h's
 * least-squares layer (dopt_linear_solver_d).  Include after dopt.h and dopt_sparse.h (with
 * DOPT_IMPLEMENTATION in that file).  Double precision.
 *
 *   dopt_linear_solver_d ls;
 *   nlls_sparse_solver_d(hooks, &ls);                 // then dopt_nlls_solver_create_d(p, &ls, ...)
 *
 * analyze(): turns the block pattern of J^T J into a scalar lower-triangle CSC pattern (each
 * diagonal block full, as dopt_sparse_blocks does) and runs dopt_sparse_analyze once (AMD,
 * relaxed supernodes).  factor(): gathers the block values (plus the damping diagonal) into the
 * CSC values in pattern order and calls dopt_sparse_factor_d; a pivot whose square falls below
 * 1e-12 times its diagonal entry is reported as rank deficiency at that ORIGINAL column, so the
 * least-squares layer can name the variable (gauge freedom).  solve(): dopt_sparse_solve_d. */
#ifndef NLLS_SPARSE_H
#define NLLS_SPARSE_H
#ifndef EX_UNUSED
#if defined(__GNUC__) || defined(__clang__)
#define EX_UNUSED __attribute__((unused))
#else
#define EX_UNUSED
#endif
#endif

typedef struct nlls_sparse {
    dopt_hooks hooks;
    const dopt_block_pattern *pat;
    dopt_sparse_symbolic *sym;
    dopt_sparse_numeric_d *num;
    int n, nnz;
    int *Ap, *Ai;
    size_t *src;       /* nnz: index of each CSC entry's value in the block values      */
    int *diag;         /* n: position of each column's diagonal entry in the CSC values */
    double *Ax;
} nlls_sparse;

static EX_UNUSED void nlls_sparse_release(nlls_sparse *s)
{
    dopt_sparse_numeric_free_d(s->num);
    dopt_sparse_symbolic_free(s->sym);
    dopt_free(&s->hooks, s->Ap, sizeof(int) * ((size_t)s->n + 1));
    dopt_free(&s->hooks, s->Ai, sizeof(int) * (size_t)s->nnz);
    dopt_free(&s->hooks, s->src, sizeof(size_t) * (size_t)s->nnz);
    dopt_free(&s->hooks, s->diag, sizeof(int) * (size_t)s->n);
    dopt_free(&s->hooks, s->Ax, sizeof(double) * (size_t)s->nnz);
    s->num = NULL; s->sym = NULL; s->Ap = s->Ai = s->diag = NULL; s->src = NULL; s->Ax = NULL;
}

static EX_UNUSED dopt_status nlls_sparse_analyze(void *self, const dopt_block_pattern *pat, dopt_errinfo *info)
{
    nlls_sparse *s = (nlls_sparse *)self;
    int bc, k, c, ii, n = pat->n, p = 0;
    size_t nnz = 0;
    dopt_status st;
    nlls_sparse_release(s);
    s->pat = pat;
    for (bc = 0; bc < pat->nblocks; ++bc) /* rows per column of block column bc */
        for (k = pat->col_start[bc]; k < pat->col_start[bc + 1]; ++k)
            nnz += (size_t)pat->block_dim[pat->row_block[k]] * (size_t)pat->block_dim[bc];
    s->n = n;
    s->nnz = (int)nnz;
    s->Ap = (int *)dopt_alloc(&s->hooks, sizeof(int) * ((size_t)n + 1));
    s->Ai = (int *)dopt_alloc(&s->hooks, sizeof(int) * nnz);
    s->src = (size_t *)dopt_alloc(&s->hooks, sizeof(size_t) * nnz);
    s->diag = (int *)dopt_alloc(&s->hooks, sizeof(int) * (size_t)n);
    s->Ax = (double *)dopt_alloc(&s->hooks, sizeof(double) * nnz);
    if (!s->Ap || !s->Ai || !s->src || !s->diag || !s->Ax)
        return dopt_errinfo_set(info, DOPT_ERR_ALLOCATION, -1, 0, "nlls_sparse: out of memory");
    for (bc = 0; bc < pat->nblocks; ++bc) {
        int cs = pat->block_start[bc], cd = pat->block_dim[bc];
        for (c = 0; c < cd; ++c) {
            s->Ap[cs + c] = p;
            for (k = pat->col_start[bc]; k < pat->col_start[bc + 1]; ++k) {
                int br = pat->row_block[k], rs = pat->block_start[br], rd = pat->block_dim[br];
                for (ii = 0; ii < rd; ++ii) {
                    if (rs + ii == cs + c) s->diag[cs + c] = p;
                    s->Ai[p] = rs + ii;
                    s->src[p] = pat->value_start[k] + (size_t)ii + (size_t)c * (size_t)rd;
                    p++;
                }
            }
        }
    }
    s->Ap[n] = p;
    st = dopt_sparse_analyze(&s->hooks, n, s->Ap, s->Ai, DOPT_LOWER, NULL, &s->sym, info);
    if (st != DOPT_OK) return st;
    st = dopt_sparse_numeric_create_d(s->sym, 1, &s->num);
    if (st != DOPT_OK) return dopt_errinfo_set(info, st, -1, 0, "nlls_sparse: numeric factor");
    return DOPT_OK;
}

static EX_UNUSED dopt_status nlls_sparse_factor(void *self, const double *values, const double *diag_add,
                                      int *fail_col)
{
    nlls_sparse *s = (nlls_sparse *)self;
    const dopt_sparse_symbolic *S = s->sym;
    int p, j, sn;
    dopt_status st;
    for (p = 0; p < s->nnz; ++p) s->Ax[p] = values[s->src[p]];
    if (diag_add)
        for (j = 0; j < s->n; ++j) s->Ax[s->diag[j]] += diag_add[j];
    st = dopt_sparse_factor_d(s->num, s->Ax, NULL);
    if (st != DOPT_OK) {
        if (fail_col) *fail_col = s->num->fail_col[0];
        return st;
    }
    /* rank check: pivot^2 against the diagonal entry it started from */
    for (sn = 0; sn < S->nsuper; ++sn) {
        int c0 = S->super[sn], nc = S->super[sn + 1] - c0;
        int nr = S->rowptr[sn + 1] - S->rowptr[sn], c;
        const double *L = s->num->x + S->valptr[sn];
        for (c = 0; c < nc; ++c) {
            double piv = L[(size_t)c + (size_t)c * (size_t)nr];
            int orig = S->perm[c0 + c];
            if (piv * piv <= 1e-12 * s->Ax[s->diag[orig]]) {
                if (fail_col) *fail_col = orig;
                return DOPT_ERR_NOT_POSITIVE_DEFINITE;
            }
        }
    }
    return DOPT_OK;
}

static EX_UNUSED dopt_status nlls_sparse_solve(void *self, double *rhs)
{
    nlls_sparse *s = (nlls_sparse *)self;
    dopt_sparse_solve_d(s->num, 1, rhs, s->n > 0 ? s->n : 1);
    return DOPT_OK;
}

static EX_UNUSED void nlls_sparse_destroy(void *self)
{
    nlls_sparse *s = (nlls_sparse *)self;
    dopt_hooks h = s->hooks;
    nlls_sparse_release(s);
    dopt_free(&h, s, sizeof *s);
}

/* nlls_sparse_solver_d: fill *out with the sparse linear solver (DOPT_ERR_ALLOCATION or OK). */
static EX_UNUSED dopt_status nlls_sparse_solver_d(const dopt_hooks *hooks, dopt_linear_solver_d *out)
{
    nlls_sparse *s = (nlls_sparse *)dopt_alloc(hooks, sizeof *s);
    if (!s) return DOPT_ERR_ALLOCATION;
    memset(s, 0, sizeof *s);
    if (hooks) s->hooks = *hooks;
    memset(out, 0, sizeof *out);
    out->self = s;
    out->analyze = nlls_sparse_analyze;
    out->factor = nlls_sparse_factor;
    out->solve = nlls_sparse_solve;
    out->destroy = nlls_sparse_destroy;
    return DOPT_OK;
}
#endif
