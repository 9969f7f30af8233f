/* Tests of dopt_sparse.h: triplets/CSC, orderings, symbolic analysis (checked against a brute-force
 * symbolic factorization), supernodal factor and solve on many SPD patterns against dense
 * Cholesky, refactorization, batches, multiple right-hand sides, the differentiable solve (central
 * finite differences), block-sparse assembly, the Matrix Market reader, error statuses, failing
 * allocators, and the real matrices of $DOPT_DATA_DIR/spd when present. */
#if !defined(DOPT_REAL)
#define DOPT_IMPLEMENTATION
#define DOPT_SPARSE_PLAIN_LANES /* test the plain-C lane batch too */
#include "dopt_sparse.h"
#include "dopt_test.h"

/* ---- test matrices: symmetric patterns as lists of (i > j) pairs ------------------------------ */

typedef struct tpat {
    int n, m, cap;
    int *ti, *tj; /* off-diagonal pairs, ti > tj (duplicates allowed) */
} tpat;

static void tpat_init(tpat *p, int n)
{
    p->n = n;
    p->m = 0;
    p->cap = 16;
    p->ti = (int *)malloc(sizeof(int) * (size_t)p->cap);
    p->tj = (int *)malloc(sizeof(int) * (size_t)p->cap);
}
static void tpat_add(tpat *p, int i, int j)
{
    if (i == j) return;
    if (i < j) { int t = i; i = j; j = t; }
    if (p->m == p->cap) {
        p->cap *= 2;
        p->ti = (int *)realloc(p->ti, sizeof(int) * (size_t)p->cap);
        p->tj = (int *)realloc(p->tj, sizeof(int) * (size_t)p->cap);
    }
    p->ti[p->m] = i;
    p->tj[p->m++] = j;
}
static void tpat_free(tpat *p) { free(p->ti); free(p->tj); }

/* Pattern kinds, with size parameter s. */
enum { PAT_ARROW, PAT_BANDED, PAT_BLOCK, PAT_RANDOM, PAT_GRID2, PAT_GRID3, PAT_PGO2, PAT_PGO3, PAT_DIAG, PAT_WIDE, PAT_COUNT };
static const char *pat_name[PAT_COUNT] = {"arrow", "banded", "block", "random", "grid2d", "grid3d", "pgo2d", "pgo3d", "diag", "wideband"};

static void block_pair(tpat *p, int bs, int a, int b)
{
    int r, c;
    for (r = 0; r < bs; ++r)
        for (c = 0; c < bs; ++c)
            if (a != b || r > c) tpat_add(p, a * bs + r, b * bs + c);
}

static void make_pattern(tpat *p, int kind, int s, dopt_rng *rng)
{
    int i, j, k;
    switch (kind) {
    case PAT_ARROW: /* dense last rows and a tridiagonal */
        tpat_init(p, s);
        for (i = 1; i < s; ++i) tpat_add(p, i, i - 1);
        for (i = 0; i < s - 3; ++i) { tpat_add(p, s - 1, i); tpat_add(p, s - 2, i); }
        break;
    case PAT_BANDED:
        tpat_init(p, s);
        for (j = 0; j < s; ++j)
            for (i = j + 1; i < s && i <= j + 5; ++i) tpat_add(p, i, j);
        break;
    case PAT_BLOCK: /* dense diagonal blocks of 7 coupled to their neighbours by a few entries */
        tpat_init(p, s);
        for (j = 0; j < s; ++j) {
            for (i = j + 1; i < s && i / 7 == j / 7; ++i) tpat_add(p, i, j);
            if (j + 9 < s && j % 3 == 0) tpat_add(p, j + 9, j);
        }
        break;
    case PAT_RANDOM:
        tpat_init(p, s);
        for (k = 0; k < 3 * s; ++k) tpat_add(p, (int)dopt_rng_below(rng, (uint64_t)s), (int)dopt_rng_below(rng, (uint64_t)s));
        break;
    case PAT_GRID2: {
        int g = s;
        tpat_init(p, g * g);
        for (i = 0; i < g; ++i)
            for (j = 0; j < g; ++j) {
                if (i + 1 < g) tpat_add(p, (i + 1) * g + j, i * g + j);
                if (j + 1 < g) tpat_add(p, i * g + j + 1, i * g + j);
            }
        break;
    }
    case PAT_GRID3: {
        int g = s, x, y, z;
        tpat_init(p, g * g * g);
        for (x = 0; x < g; ++x)
            for (y = 0; y < g; ++y)
                for (z = 0; z < g; ++z) {
                    int id = (x * g + y) * g + z;
                    if (x + 1 < g) tpat_add(p, id + g * g, id);
                    if (y + 1 < g) tpat_add(p, id + g, id);
                    if (z + 1 < g) tpat_add(p, id + 1, id);
                }
        break;
    }
    case PAT_PGO2:
    case PAT_PGO3: { /* odometry chain plus loop closures between blocks of 3 or 6 */
        int bs = kind == PAT_PGO2 ? 3 : 6, nb = s;
        tpat_init(p, nb * bs);
        for (i = 0; i < nb; ++i) block_pair(p, bs, i, i);
        for (i = 1; i < nb; ++i) block_pair(p, bs, i, i - 1);
        for (k = 0; k < nb / 4; ++k) {
            int a = (int)dopt_rng_below(rng, (uint64_t)nb), b = (int)dopt_rng_below(rng, (uint64_t)nb);
            if (a != b) block_pair(p, bs, a > b ? a : b, a > b ? b : a);
        }
        break;
    }
    case PAT_WIDE: /* band of half-width 90 with gaps: supernodes wider than a panel */
        tpat_init(p, s);
        for (j = 0; j < s; ++j)
            for (i = j + 1; i < s && i <= j + 90; ++i)
                if ((i + j) % 11 != 0 || i == j + 1) tpat_add(p, i, j);
        break;
    default:
        tpat_init(p, s);
        break;
    }
}

/* ---- brute-force symbolic factorization: nnz of each column of L for the permuted pattern --- */
static void brute_colcounts(const tpat *p, const int *perm, int *cc)
{
    int n = p->n, i, j, k;
    int *iperm = (int *)malloc(sizeof(int) * (size_t)n);
    unsigned char *L = (unsigned char *)calloc((size_t)n * (size_t)n, 1);
    for (k = 0; k < n; ++k) iperm[perm[k]] = k;
    for (k = 0; k < p->m; ++k) {
        int a = iperm[p->ti[k]], b = iperm[p->tj[k]];
        if (a < b) { int t = a; a = b; b = t; }
        L[a + (size_t)b * n] = 1;
    }
    for (k = 0; k < n; ++k)
        for (i = k + 1; i < n; ++i) {
            if (!L[i + (size_t)k * n]) continue;
            for (j = k + 1; j <= i; ++j)
                if (L[j + (size_t)k * n]) L[i + (size_t)j * n] = 1;
        }
    for (j = 0; j < n; ++j) {
        cc[j] = 1;
        for (i = j + 1; i < n; ++i) cc[j] += L[i + (size_t)j * n];
    }
    free(L);
    free(iperm);
}

static void test_colcounts_vs_brute(void)
{
    dopt_rng rng;
    int kind, ord;
    dopt_rng_seed(&rng, 11, 0);
    for (kind = 0; kind < PAT_COUNT; ++kind)
        for (ord = 0; ord < 2; ++ord) {
            tpat p;
            int s = kind == PAT_GRID2 ? 9 : kind == PAT_GRID3 ? 4 : (kind == PAT_PGO2 || kind == PAT_PGO3) ? 20 : kind == PAT_WIDE ? 150 : 60;
            int *Ap, *Ai, k, j, *cc, *cnt, bad = 0, sn;
            dopt_sparse_symbolic *S = NULL;
            dopt_sparse_options o;
            dopt_status st;
            make_pattern(&p, kind, s, &rng);
            /* lower CSC pattern, diagonal included */
            cnt = (int *)calloc((size_t)p.n + 1, sizeof(int));
            Ap = (int *)malloc(sizeof(int) * ((size_t)p.n + 1));
            Ai = (int *)malloc(sizeof(int) * ((size_t)p.m + (size_t)p.n + 1));
            for (k = 0; k < p.m; ++k) cnt[p.tj[k]]++;
            Ap[0] = 0;
            for (j = 0; j < p.n; ++j) Ap[j + 1] = Ap[j] + cnt[j] + 1;
            for (j = 0; j < p.n; ++j) { Ai[Ap[j]] = j; cnt[j] = Ap[j] + 1; }
            for (k = 0; k < p.m; ++k) Ai[cnt[p.tj[k]]++] = p.ti[k];
            memset(&o, 0, sizeof o);
            o.ordering = ord ? DOPT_SPARSE_ORDER_NATURAL : DOPT_SPARSE_ORDER_AMD;
            st = dopt_sparse_analyze(NULL, p.n, Ap, Ai, DOPT_LOWER, &o, &S, NULL);
            DOPT_CHECK(st == DOPT_OK, "%s: analyze failed %d", pat_name[kind], (int)st);
            if (st == DOPT_OK) {
                double nnzl = 0;
                cc = (int *)malloc(sizeof(int) * (size_t)p.n);
                brute_colcounts(&p, S->perm, cc);
                for (j = 0; j < p.n; ++j) {
                    if (cc[j] != S->colcount[j]) bad++;
                    nnzl += cc[j];
                    if (S->parent[j] != -1 && S->parent[j] <= j) bad++;
                }
                DOPT_CHECK(bad == 0 && nnzl == S->nnz_l, "%s ord %d: %d column counts differ from brute force",
                           pat_name[kind], ord, bad);
                /* supernode partition covers every column once, rows start with the own columns */
                for (sn = 0, bad = 0; sn < S->nsuper; ++sn) {
                    int c, nscol = S->super[sn + 1] - S->super[sn], nsrow = S->rowptr[sn + 1] - S->rowptr[sn];
                    for (c = 0; c < nscol; ++c) bad += S->rowind[S->rowptr[sn] + c] != S->super[sn] + c;
                    for (c = nscol + 1; c < nsrow; ++c) bad += S->rowind[S->rowptr[sn] + c] <= S->rowind[S->rowptr[sn] + c - 1];
                    bad += nsrow < cc[S->super[sn]];
                }
                DOPT_CHECK(bad == 0 && S->super[0] == 0 && S->super[S->nsuper] == p.n, "%s: supernode structure", pat_name[kind]);
                free(cc);
            }
            dopt_sparse_symbolic_destroy(S);
            free(cnt);
            free(Ap);
            free(Ai);
            tpat_free(&p);
        }
}

/* AMD must beat the natural order clearly on grids and keep valid permutations. */
static void test_amd_quality(void)
{
    int g = dopt_test_quick() ? 20 : 40, i, j, k, n = g * g, *Sp, *Si, *perm, *iw, *seen, nnz = 0;
    Sp = (int *)malloc(sizeof(int) * ((size_t)n + 1));
    Si = (int *)malloc(sizeof(int) * (size_t)(4 * n));
    for (i = 0; i < g; ++i)
        for (j = 0; j < g; ++j) {
            int id = i * g + j;
            Sp[id] = nnz;
            if (i > 0) Si[nnz++] = id - g;
            if (j > 0) Si[nnz++] = id - 1;
            if (j + 1 < g) Si[nnz++] = id + 1;
            if (i + 1 < g) Si[nnz++] = id + g;
        }
    Sp[n] = nnz;
    perm = (int *)malloc(sizeof(int) * (size_t)n);
    seen = (int *)calloc((size_t)n, sizeof(int));
    iw = (int *)malloc(sizeof(int) * dopt_sparse_amd_iwork_size(n, nnz));
    dopt_sparse_amd(n, Sp, Si, -1, perm, iw);
    for (k = 0, i = 0; k < n; ++k) {
        if (perm[k] < 0 || perm[k] >= n || seen[perm[k]]) i++;
        else seen[perm[k]] = 1;
    }
    DOPT_CHECK(i == 0, "amd: not a permutation (%d problems)", i);
    {
        int *Ap = (int *)malloc(sizeof(int) * ((size_t)n + 1)), *Ai = (int *)malloc(sizeof(int) * (size_t)(3 * n));
        dopt_sparse_symbolic *S1 = NULL, *S2 = NULL;
        dopt_sparse_options o;
        int q = 0;
        for (j = 0; j < n; ++j) {
            Ap[j] = q;
            Ai[q++] = j;
            for (k = Sp[j]; k < Sp[j + 1]; ++k)
                if (Si[k] > j) Ai[q++] = Si[k];
        }
        Ap[n] = q;
        memset(&o, 0, sizeof o);
        dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, &o, &S1, NULL);
        o.ordering = DOPT_SPARSE_ORDER_NATURAL;
        dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, &o, &S2, NULL);
        DOPT_CHECK(S1 && S2, "analyze");
        if (S1 && S2) {
            /* natural order of a g x g grid fills the band: about n*g; AMD about 31 n log2(g)/8 */
            DOPT_CHECK(S1->nnz_l < 0.5 * S2->nnz_l, "amd nnz(L) %g vs natural %g", S1->nnz_l, S2->nnz_l);
        }
        dopt_sparse_symbolic_destroy(S1);
        dopt_sparse_symbolic_destroy(S2);
        free(Ap);
        free(Ai);
    }
    free(Sp); free(Si); free(perm); free(seen); free(iw);
}

/* ---- triplets ------------------------------------------------------------------------------- */
static void test_triplets(void)
{
    int Ti[7] = {0, 2, 1, 2, 0, 2, 1}, Tj[7] = {0, 0, 1, 0, 2, 2, 0};
    double Tx[7] = {1, 2, 3, 4, 5, 6, 7};
    dopt_sparse_csc_d A;
    dopt_errinfo info;
    DOPT_CHECK(dopt_sparse_csc_from_triplets_d(NULL, 3, 3, 7, Ti, Tj, Tx, 0, &A, NULL) == DOPT_OK, "general");
    /* column 0: rows 0 (1), 1 (7), 2 (2+4); column 1: row 1 (3); column 2: rows 0 (5), 2 (6) */
    DOPT_CHECK(A.p[0] == 0 && A.p[1] == 3 && A.p[2] == 4 && A.p[3] == 6, "column pointers");
    DOPT_CHECK(A.i[0] == 0 && A.i[1] == 1 && A.i[2] == 2 && A.x[2] == 6 && A.x[1] == 7, "column 0 sorted, summed");
    DOPT_CHECK(A.i[4] == 0 && A.x[4] == 5 && A.i[5] == 2 && A.x[5] == 6, "column 2");
    dopt_sparse_csc_destroy_d(&A);
    /* symmetric: (0,2) mirrors to (2,0): column 0 gets rows 0 (1), 1 (7), 2 (2+4+5) */
    DOPT_CHECK(dopt_sparse_csc_from_triplets_d(NULL, 3, 3, 7, Ti, Tj, Tx, 1, &A, NULL) == DOPT_OK, "symmetric");
    DOPT_CHECK(A.symmetric == 1 && A.p[1] == 3 && A.x[2] == 11 && A.p[3] == 5, "symmetric mirrored into lower");
    dopt_sparse_csc_destroy_d(&A);
    Ti[3] = 3;
    DOPT_CHECK(dopt_sparse_csc_from_triplets_d(NULL, 3, 3, 7, Ti, Tj, Tx, 0, &A, &info) == DOPT_ERR_INVALID_ARGUMENT &&
                   info.index == 3, "out of range triplet reported");
    DOPT_CHECK(dopt_sparse_csc_from_triplets_d(NULL, 3, 4, 0, NULL, NULL, NULL, 1, &A, NULL) == DOPT_ERR_DIMENSION,
               "symmetric needs square");
}

/* ---- Matrix Market reader ------------------------------------------------------------------- */
static void test_mm_reader(void)
{
    const char *path = dopt_test_temp_path("sparse_mm.mtx");
    dopt_sparse_csc_d A;
    dopt_sparse_csc_f Af;
    dopt_errinfo info;
    if (!dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real symmetric\n% comment\n\n3 3 4\n1 1 4.0\n2 1 1\n3 3 2e0\n1 3 -1\n")) DOPT_SKIP("cannot write a temporary file");
    DOPT_CHECK(dopt_sparse_read_mm_d(NULL, path, &A, &info) == DOPT_OK, "symmetric file: %s", info.message);
    DOPT_CHECK(A.nrows == 3 && A.symmetric && A.p[1] == 3 && A.x[2] == -1 && A.x[3] == 2, "symmetric values");
    dopt_sparse_csc_destroy_d(&A);
    DOPT_CHECK(dopt_sparse_read_mm_f(NULL, path, &Af, &info) == DOPT_OK && Af.x[0] == 4.0f, "float reader");
    dopt_sparse_csc_destroy_f(&Af);
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate pattern general\n2 3 2\n1 3\n2 1\n");
    DOPT_CHECK(dopt_sparse_read_mm_d(NULL, path, &A, &info) == DOPT_OK && A.ncols == 3 && A.x[0] == 1 && !A.symmetric, "pattern file");
    dopt_sparse_csc_destroy_d(&A);
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n2 x 1\n3 3 1\n");
    DOPT_CHECK(dopt_sparse_read_mm_d(NULL, path, &A, &info) == DOPT_ERR_PARSE && info.line == 4, "bad entry on line 4 (got %ld: %s)", info.line, info.message);
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n4 1 1\n");
    DOPT_CHECK(dopt_sparse_read_mm_d(NULL, path, &A, &info) == DOPT_ERR_PARSE && info.line == 4, "index out of range, line 4");
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n3 3 3\n1 1 1\n");
    DOPT_CHECK(dopt_sparse_read_mm_d(NULL, path, &A, &info) == DOPT_ERR_PARSE && strstr(info.message, "1 of 3"), "truncated: %s", info.message);
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n3 3\n");
    DOPT_CHECK(dopt_sparse_read_mm_d(NULL, path, &A, &info) == DOPT_ERR_PARSE && info.line == 2, "bad size line");
    dopt_test_write_text(path, "%%MatrixMarket matrix array real general\n2 2\n1\n2\n3\n4\n");
    DOPT_CHECK(dopt_sparse_read_mm_d(NULL, path, &A, &info) == DOPT_ERR_UNSUPPORTED, "array format unsupported");
    dopt_test_write_text(path, "hello\n");
    DOPT_CHECK(dopt_sparse_read_mm_d(NULL, path, &A, &info) == DOPT_ERR_PARSE && info.line == 1, "no header");
    remove(path);
    DOPT_CHECK(dopt_sparse_read_mm_d(NULL, "/nonexistent/x.mtx", &A, &info) == DOPT_ERR_IO, "missing file");
}

/* ---- failing allocator: every allocation point returns a clean status, nothing leaks -------- */
typedef struct counting { long live, total, fail_after, bytes, peak_bytes; } counting;
static void *cnt_alloc(void *u, size_t n)
{
    counting *c = (counting *)u;
    if (c->fail_after >= 0 && c->total >= c->fail_after) return NULL;
    c->total++;
    c->live++;
    c->bytes += (long)n;
    if (c->bytes > c->peak_bytes) c->peak_bytes = c->bytes;
    return malloc(n);
}
static void cnt_free(void *u, void *p, size_t n)
{
    counting *c = (counting *)u;
    if (p) c->live--;
    if (p) c->bytes -= (long)n;
    free(p);
}

/* issue 24, defect 8 and a minor one: a header "10000000 10000000 0" made the reader allocate and
 * write 80 MB (sizes up to 2^31 - 2 were taken); a declared count of 1e9 with one entry
 * allocated 1e9 triplets; entries beyond the declared count were ignored silently */
static void test_mm_hostile(void)
{
    const char *path = dopt_test_temp_path("sparse_mm_hostile.mtx");
    dopt_sparse_csc_d A;
    dopt_errinfo info;
    counting c;
    dopt_hooks h;
    dopt_status st;
    memset(&h, 0, sizeof h);
    h.allocator.alloc = cnt_alloc;
    h.allocator.free = cnt_free;
    h.allocator.user = &c;
    if (!dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n10000000 10000000 0\n")) DOPT_SKIP("cannot write");
    memset(&c, 0, sizeof c);
    c.fail_after = -1;
    st = dopt_sparse_read_mm_d(&h, path, &A, &info);
    DOPT_CHECK(st == DOPT_ERR_UNSUPPORTED && info.line == 2, "empty 1e7 x 1e7: %s line %ld", dopt_status_string(st), info.line);
    DOPT_CHECK(c.peak_bytes < 1000000, "empty 1e7 x 1e7: %ld bytes at once", c.peak_bytes);
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n3 3 1000000000\n1 1 1\n");
    memset(&c, 0, sizeof c);
    c.fail_after = -1;
    st = dopt_sparse_read_mm_d(&h, path, &A, &info);
    DOPT_CHECK(st == DOPT_ERR_PARSE && strstr(info.message, "1 of 1000000000"), "1e9 declared, 1 present: %s %s",
               dopt_status_string(st), info.message);
    DOPT_CHECK(c.peak_bytes < 1000000 && c.live == 0, "1e9 declared: %ld bytes at once, %ld live", c.peak_bytes, c.live);
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n2 2 1\n1 1 1\n2 2 5\n");
    st = dopt_sparse_read_mm_d(NULL, path, &A, &info);
    DOPT_CHECK(st == DOPT_ERR_PARSE && info.line == 4, "an entry beyond the count: %s line %ld", dopt_status_string(st), info.line);
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 2 1e999\n");
    st = dopt_sparse_read_mm_d(NULL, path, &A, &info);
    DOPT_CHECK(st == DOPT_ERR_PARSE && info.line == 4, "an Inf value: %s line %ld", dopt_status_string(st), info.line);
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 2 1e300\n");
    {
        dopt_sparse_csc_f Af;
        st = dopt_sparse_read_mm_f(NULL, path, &Af, &info);
        DOPT_CHECK(st == DOPT_ERR_PARSE && info.line == 4, "1e300 in float: %s line %ld", dopt_status_string(st), info.line);
    }
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1e308\n1 1 1e308\n");
    st = dopt_sparse_read_mm_d(NULL, path, &A, &info);
    DOPT_CHECK(st == DOPT_ERR_NON_FINITE && A.p == NULL, "duplicates summing to Inf: %s", dopt_status_string(st));
    dopt_test_write_text(path, "%%MatrixMarket matrix coordinate real general\n60000 60000 2\n1 1 1\n60000 60000 5\n% end\n\n");
    st = dopt_sparse_read_mm_d(NULL, path, &A, &info);
    DOPT_CHECK(st == DOPT_OK && A.ncols == 60000 && A.p[60000] == 2, "2 entries in 60000 x 60000 (within the slack): %s",
               dopt_status_string(st));
    if (st == DOPT_OK) dopt_sparse_csc_destroy_d(&A);
    remove(path);
}

static void test_alloc_failures(void)
{
    int Ap[5] = {0, 2, 4, 6, 7}, Ai[7] = {0, 3, 1, 2, 2, 3, 3}, k, ok = 1;
    for (k = 0; k < 40; ++k) {
        counting c = {0, 0, 0, 0, 0};
        dopt_hooks h;
        dopt_sparse_symbolic *S = NULL;
        dopt_sparse_numeric_d *F = NULL;
        dopt_status st;
        memset(&h, 0, sizeof h);
        c.fail_after = k;
        h.allocator.alloc = cnt_alloc;
        h.allocator.free = cnt_free;
        h.allocator.user = &c;
        st = dopt_sparse_analyze(&h, 4, Ap, Ai, DOPT_LOWER, NULL, &S, NULL);
        if (st == DOPT_OK) st = dopt_sparse_numeric_create_d(S, 2, &F);
        if (st != DOPT_OK && st != DOPT_ERR_ALLOCATION) ok = 0;
        dopt_sparse_numeric_destroy_d(F);
        dopt_sparse_symbolic_destroy(S);
        if (c.live != 0) ok = 0;
    }
    DOPT_CHECK(ok, "allocation failures give DOPT_ERR_ALLOCATION and leak nothing");
}

/* ---- differentiable solve against central finite differences -------------------------------- */
static void test_backward_fd(void)
{
    dopt_rng rng;
    tpat p;
    int n, j, k, q, *Ap, *Ai, nnz, *cnt;
    double *Ax, *b, *x, *w, *gb, *gA, errb = 0, errA = 0;
    dopt_sparse_symbolic *S = NULL;
    dopt_sparse_numeric_d *F = NULL;
    dopt_rng_seed(&rng, 99, 0);
    make_pattern(&p, PAT_RANDOM, 25, &rng);
    n = p.n;
    /* UPPER storage this time, with one duplicated entry */
    cnt = (int *)calloc((size_t)n + 1, sizeof(int));
    for (k = 0; k < p.m; ++k) cnt[p.ti[k]]++;
    Ap = (int *)malloc(sizeof(int) * ((size_t)n + 1));
    nnz = p.m + n + 1;
    Ai = (int *)malloc(sizeof(int) * (size_t)nnz);
    Ax = (double *)malloc(sizeof(double) * (size_t)nnz);
    Ap[0] = 0;
    for (j = 0; j < n; ++j) Ap[j + 1] = Ap[j] + cnt[j] + 1 + (j == n - 1);
    for (j = 0; j < n; ++j) cnt[j] = Ap[j];
    for (k = 0; k < p.m; ++k) { Ai[cnt[p.ti[k]]] = p.tj[k]; Ax[cnt[p.ti[k]]++] = dopt_rng_uniform_d(&rng) - 0.5; }
    for (j = 0; j < n; ++j) { Ai[cnt[j]] = j; Ax[cnt[j]++] = 8 + dopt_rng_uniform_d(&rng); }
    Ai[cnt[n - 1]] = n - 1; /* duplicate diagonal entry: values add */
    Ax[cnt[n - 1]] = 0.5;
    b = (double *)malloc(sizeof(double) * (size_t)n);
    x = (double *)malloc(sizeof(double) * (size_t)n);
    w = (double *)malloc(sizeof(double) * (size_t)n);
    gb = (double *)malloc(sizeof(double) * (size_t)n);
    gA = (double *)malloc(sizeof(double) * (size_t)nnz);
    dopt_rng_fill_normal_d(&rng, n, b, 0, 1);
    dopt_rng_fill_normal_d(&rng, n, w, 0, 1); /* loss = w . x */
    DOPT_CHECK(dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_UPPER, NULL, &S, NULL) == DOPT_OK, "analyze");
    DOPT_CHECK(S && dopt_sparse_numeric_create_d(S, 1, &F) == DOPT_OK, "create");
    if (!F) goto out;
    dopt_sparse_factor_d(F, Ax, NULL);
    memcpy(x, b, sizeof(double) * (size_t)n);
    dopt_sparse_solve_d(F, 1, x, n);
    DOPT_CHECK(dopt_sparse_solve_backward_d(F, 0, x, w, gb, gA) == DOPT_OK, "solve_backward status");
    { /* issue 24: the backward checks its own outputs (NaN adjoint in: NON_FINITE, not OK) */
        double keep = w[0];
        w[0] = NAN;
        DOPT_CHECK(dopt_sparse_solve_backward_d(F, 0, x, w, gb, gA) == DOPT_ERR_NON_FINITE, "NaN adjoint");
        DOPT_CHECK(dopt_sparse_solve_backward_d(F, 1, x, w, gb, gA) == DOPT_ERR_INVALID_ARGUMENT, "element 1 of 1");
        w[0] = keep;
        dopt_sparse_solve_backward_d(F, 0, x, w, gb, gA);
    }
    {
        const double h = 1e-6;
        double *xp = (double *)malloc(sizeof(double) * (size_t)n);
        for (q = 0; q < n; ++q) { /* d loss / d b_q */
            double lp = 0, lm = 0, fd;
            memcpy(xp, b, sizeof(double) * (size_t)n);
            xp[q] += h;
            dopt_sparse_solve_d(F, 1, xp, n);
            for (k = 0; k < n; ++k) lp += w[k] * xp[k];
            memcpy(xp, b, sizeof(double) * (size_t)n);
            xp[q] -= h;
            dopt_sparse_solve_d(F, 1, xp, n);
            for (k = 0; k < n; ++k) lm += w[k] * xp[k];
            fd = (lp - lm) / (2 * h);
            errb = fabs(fd - gb[q]) > errb ? fabs(fd - gb[q]) : errb;
        }
        for (q = 0; q < nnz; ++q) { /* d loss / d (stored value q) */
            double lp = 0, lm = 0, fd, keep = Ax[q];
            Ax[q] = keep + h;
            dopt_sparse_factor_d(F, Ax, NULL);
            memcpy(xp, b, sizeof(double) * (size_t)n);
            dopt_sparse_solve_d(F, 1, xp, n);
            for (k = 0; k < n; ++k) lp += w[k] * xp[k];
            Ax[q] = keep - h;
            dopt_sparse_factor_d(F, Ax, NULL);
            memcpy(xp, b, sizeof(double) * (size_t)n);
            dopt_sparse_solve_d(F, 1, xp, n);
            for (k = 0; k < n; ++k) lm += w[k] * xp[k];
            Ax[q] = keep;
            fd = (lp - lm) / (2 * h);
            errA = fabs(fd - gA[q]) > errA ? fabs(fd - gA[q]) : errA;
        }
        free(xp);
    }
    DOPT_CHECK(errb < 1e-7 && errA < 1e-7, "backward vs central differences: db err %g, dA err %g", errb, errA);
out:
    dopt_sparse_numeric_destroy_d(F);
    dopt_sparse_symbolic_destroy(S);
    tpat_free(&p);
    free(cnt); free(Ap); free(Ai); free(Ax); free(b); free(x); free(w); free(gb); free(gA);
}

/* ---- error statuses --------------------------------------------------------------------------- */
static void test_errors(void)
{
    /* 5 x 5 tridiagonal, lower; column 3 made indefinite */
    int Ap[6] = {0, 2, 4, 6, 8, 9}, Ai[9] = {0, 1, 1, 2, 2, 3, 3, 4, 4}, bad_perm[5] = {0, 1, 1, 3, 4};
    double Ax[9] = {4, 1, 4, 1, 4, 1, -4, 1, 4};
    dopt_sparse_symbolic *S = NULL;
    dopt_sparse_numeric_d *F = NULL;
    dopt_sparse_options o;
    dopt_errinfo info;
    dopt_status st;
    int k;
    for (k = 0; k < 2; ++k) {
        memset(&o, 0, sizeof o);
        o.ordering = k ? DOPT_SPARSE_ORDER_NATURAL : DOPT_SPARSE_ORDER_AMD;
        st = dopt_sparse_analyze(NULL, 5, Ap, Ai, DOPT_LOWER, &o, &S, NULL);
        DOPT_CHECK(st == DOPT_OK && dopt_sparse_numeric_create_d(S, 1, &F) == DOPT_OK, "setup");
        if (!F) return;
        st = dopt_sparse_factor_d(F, Ax, &info);
        DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && info.index >= 0 && info.index == F->fail_col[0],
                   "not PD reported with its column (got %s, col %ld)", dopt_status_string(st), info.index);
        if (k == 1) DOPT_CHECK(info.index == 3, "natural order fails at column 3 (got %ld)", info.index);
        Ax[6] = 4;
        DOPT_CHECK(dopt_sparse_factor_d(F, Ax, &info) == DOPT_OK && F->fail_col[0] == -1, "refactor after the fix");
        Ax[6] = -4;
        dopt_sparse_numeric_destroy_d(F);
        dopt_sparse_symbolic_destroy(S);
        F = NULL;
        S = NULL;
    }
    Ax[6] = 4;
    dopt_sparse_analyze(NULL, 5, Ap, Ai, DOPT_LOWER, NULL, &S, NULL);
    dopt_sparse_numeric_create_d(S, 2, &F);
    if (!F) return;
    Ax[4] = NAN;
    st = dopt_sparse_factor_d(F, Ax, &info);
    DOPT_CHECK(st == DOPT_ERR_NON_FINITE && info.index == 4, "NaN input reported at entry 4");
    Ax[4] = INFINITY;
    DOPT_CHECK(dopt_sparse_factor_d(F, Ax, &info) == DOPT_ERR_NON_FINITE, "Inf input");
    Ax[4] = 4;
    DOPT_CHECK(dopt_sparse_factor_batch_d(F, 3, Ax, 0, &info) == DOPT_ERR_DIMENSION, "count > batch");
    {
        double two[18];
        memcpy(two, Ax, sizeof Ax);
        memcpy(two + 9, Ax, sizeof Ax);
        two[9 + 6] = -4;
        st = dopt_sparse_factor_batch_d(F, 2, two, 9, &info);
        DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && F->fail_col[0] == -1 && F->fail_col[1] >= 0,
                   "batch: only the bad element fails");
        F->interleave_bytes = 0;
        F->fail_col[1] = -5;
        st = dopt_sparse_factor_batch_d(F, 2, two, 9, &info);
        DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && F->fail_col[0] == -1 && F->fail_col[1] >= 0 &&
                       info.index == F->fail_col[1], "batch one by one: only the bad element fails");
    }
    dopt_sparse_numeric_destroy_d(F);
    dopt_sparse_symbolic_destroy(S);
    Ai[3] = 7;
    DOPT_CHECK(dopt_sparse_analyze(NULL, 5, Ap, Ai, DOPT_LOWER, NULL, &S, &info) == DOPT_ERR_INVALID_ARGUMENT &&
                   info.index == 3, "row out of range reported at entry 3");
    Ai[3] = 2;
    Ap[2] = 1;
    Ap[1] = 2;
    DOPT_CHECK(dopt_sparse_analyze(NULL, 5, Ap, Ai, DOPT_LOWER, NULL, &S, &info) == DOPT_ERR_INVALID_ARGUMENT,
               "decreasing column pointers");
    Ap[1] = 2;
    Ap[2] = 4;
    memset(&o, 0, sizeof o);
    o.ordering = DOPT_SPARSE_ORDER_USER;
    o.user_perm = bad_perm;
    DOPT_CHECK(dopt_sparse_analyze(NULL, 5, Ap, Ai, DOPT_LOWER, &o, &S, &info) == DOPT_ERR_INVALID_ARGUMENT &&
                   info.index == 2, "user_perm not a permutation");
    DOPT_CHECK(dopt_sparse_analyze(NULL, -1, Ap, Ai, DOPT_LOWER, NULL, &S, NULL) == DOPT_ERR_INVALID_ARGUMENT, "n < 0");
    {   /* workspace too small for init */
        char mem[64];
        dopt_sparse_numeric_d G;
        dopt_sparse_analyze(NULL, 5, Ap, Ai, DOPT_LOWER, NULL, &S, NULL);
        DOPT_CHECK(S && dopt_sparse_numeric_init_d(&G, S, 1, mem, sizeof mem) == DOPT_ERR_ALLOCATION, "short workspace");
        dopt_sparse_symbolic_destroy(S);
    }
}

/* ---- real matrices ---------------------------------------------------------------------------- */
/* A failing pivot inside a wide supernode (one dense supernode, natural order) is reported at
 * its column: pivots in the first strip of the first panel, in a later strip, and in a later
 * panel (the narrow strips of the panel potrf offset the column they report). */
static void test_wide_pivot(void)
{
    enum { N = 100 };
    static int Ap[N + 1], Ai[N * (N + 1) / 2];
    static double Ax[N * (N + 1) / 2];
    const int bad[4] = {3, 30, 80, 99};
    dopt_sparse_symbolic *S = NULL;
    dopt_sparse_numeric_d *F = NULL;
    dopt_sparse_options o;
    dopt_errinfo info;
    int i, j, p = 0, t;
    for (j = 0; j < N; ++j) {
        Ap[j] = p;
        for (i = j; i < N; ++i, ++p) {
            Ai[p] = i;
            Ax[p] = i == j ? N + 1.0 : 1.0 / (1 + i + j);
        }
    }
    Ap[N] = p;
    memset(&o, 0, sizeof o);
    o.ordering = DOPT_SPARSE_ORDER_NATURAL;
    DOPT_CHECK(dopt_sparse_analyze(NULL, N, Ap, Ai, DOPT_LOWER, &o, &S, NULL) == DOPT_OK &&
                   dopt_sparse_numeric_create_d(S, 1, &F) == DOPT_OK,
               "setup");
    if (!F) {
        dopt_sparse_symbolic_destroy(S);
        return;
    }
    DOPT_CHECK(S->nsuper == 1, "one supernode (got %d)", S->nsuper);
    DOPT_CHECK(dopt_sparse_factor_d(F, Ax, &info) == DOPT_OK, "SPD factors");
    for (t = 0; t < 4; ++t) {
        const int pd = Ap[bad[t]];
        dopt_status st;
        Ax[pd] = -1;
        st = dopt_sparse_factor_d(F, Ax, &info);
        DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && F->fail_col[0] == bad[t] && info.index == bad[t],
                   "pivot %d reported (got %s, col %d)", bad[t], dopt_status_string(st), F->fail_col[0]);
        Ax[pd] = N + 1.0;
    }
    dopt_sparse_numeric_destroy_d(F);
    dopt_sparse_symbolic_destroy(S);
}

static void test_data_spd(void)
{
    const char *names[5] = {"bcsstk13", "bcsstk15", "fv1", "ted_B", "bodyy5"};
    char path[1024];
    int f, found = 0;
    for (f = 0; f < 5; ++f) {
        dopt_sparse_csc_d A;
        dopt_errinfo info;
        dopt_sparse_symbolic *S = NULL;
        dopt_sparse_numeric_d *F = NULL;
        FILE *probe;
        snprintf(path, sizeof path, "%s/spd/%s.mtx", dopt_test_data_dir(), names[f]);
        probe = fopen(path, "r");
        if (!probe) continue;
        fclose(probe);
        found++;
        if (dopt_test_quick() && f >= 2) continue;
        DOPT_CHECK(dopt_sparse_read_mm_d(NULL, path, &A, &info) == DOPT_OK, "%s: %s", names[f], info.message);
        if (!A.p) continue;
        DOPT_CHECK(A.symmetric && A.nrows == A.ncols, "%s symmetric", names[f]);
        if (dopt_sparse_analyze(NULL, A.ncols, A.p, A.i, DOPT_LOWER, NULL, &S, &info) == DOPT_OK &&
            dopt_sparse_numeric_create_d(S, 1, &F) == DOPT_OK) {
            dopt_status st = dopt_sparse_factor_d(F, A.x, &info);
            DOPT_CHECK(st == DOPT_OK, "%s factor: %s", names[f], info.message);
            if (st == DOPT_OK) {
                int n = A.ncols, j, p;
                double *x = (double *)malloc(sizeof(double) * (size_t)n), *b = (double *)malloc(sizeof(double) * (size_t)n);
                double *y = (double *)calloc((size_t)n, sizeof(double)), *cs = (double *)calloc((size_t)n, sizeof(double));
                double rn = 0, an = 0, xn = 0;
                dopt_rng rng;
                dopt_rng_seed(&rng, 3, (uint64_t)f);
                dopt_rng_fill_normal_d(&rng, n, b, 0, 1);
                memcpy(x, b, sizeof(double) * (size_t)n);
                dopt_sparse_solve_d(F, 1, x, n);
                for (j = 0; j < n; ++j)
                    for (p = A.p[j]; p < A.p[j + 1]; ++p) {
                        int i = A.i[p];
                        y[i] += A.x[p] * x[j];
                        cs[j] += fabs(A.x[p]);
                        if (i != j) { y[j] += A.x[p] * x[i]; cs[i] += fabs(A.x[p]); }
                    }
                for (j = 0; j < n; ++j) {
                    rn = fabs(y[j] - b[j]) > rn ? fabs(y[j] - b[j]) : rn;
                    an = cs[j] > an ? cs[j] : an;
                    xn = fabs(x[j]) > xn ? fabs(x[j]) : xn;
                }
                DOPT_CHECK(rn / (an * xn) < 1e-12, "%s: relative residual %g", names[f], rn / (an * xn));
                free(x); free(b); free(y); free(cs);
            }
        } else {
            DOPT_CHECK(0, "%s analyze: %s", names[f], info.message);
        }
        dopt_sparse_numeric_destroy_d(F);
        dopt_sparse_symbolic_destroy(S);
        dopt_sparse_csc_destroy_d(&A);
    }
    if (!found) DOPT_SKIP("no $DOPT_DATA_DIR/spd/*.mtx (shared data folder absent)");
}

/* ---- block patterns for the lane batch of the least-squares solver ------------------------------ */

/* A dopt_block_pattern and its arrays.  kind 0: 14 blocks of 1-4 columns, a chain and random
 * extra blocks; kind 1: a pose graph of 40 poses (6 columns each) along a chain with random loop
 * closures and a clique of 10 poses that becomes a dense root of at least 60 columns (wider than
 * the lane factor's column blocks). */
typedef struct lpat {
    dopt_block_pattern pat;
    int nb, *dim, *start, *colst, *rowb;
    size_t *vst;
} lpat;

/* lpat's arrays for nb blocks (dim, start filled by the caller). */
static void lpat_alloc(lpat *L, int nb)
{
    L->nb = nb;
    L->dim = (int *)malloc(sizeof(int) * (size_t)nb);
    L->start = (int *)malloc(sizeof(int) * ((size_t)nb + 1));
    L->colst = (int *)malloc(sizeof(int) * ((size_t)nb + 1));
    L->rowb = (int *)malloc(sizeof(int) * (size_t)nb * nb);
    L->vst = (size_t *)malloc(sizeof(size_t) * (size_t)nb * nb);
}

/* The block columns of the lower pattern adj (nb x nb, row-major, adj[i*nb+j] for i >= j) into
 * L's colst/rowb/vst and L->pat; L->dim and L->start are set. */
static void lpat_from_adj(lpat *L, const char *adj)
{
    const int nb = L->nb;
    int i, j, nk = 0;
    size_t nv = 0;
    for (j = 0; j < nb; ++j) {
        L->colst[j] = nk;
        for (i = j; i < nb; ++i)
            if (adj[i * nb + j]) {
                L->rowb[nk] = i;
                L->vst[nk++] = nv;
                nv += (size_t)L->dim[i] * (size_t)L->dim[j];
            }
    }
    L->colst[nb] = nk;
    L->pat.nblocks = nb;
    L->pat.n = L->start[nb];
    L->pat.block_dim = L->dim;
    L->pat.block_start = L->start;
    L->pat.col_start = L->colst;
    L->pat.row_block = L->rowb;
    L->pat.value_start = L->vst;
    L->pat.nvalues = nv;
}

static void lpat_make(lpat *L, int kind, dopt_rng *rng)
{
    const int nb = kind == 0 ? 14 : 40;
    char *adj = (char *)calloc((size_t)nb * nb, 1);
    int i, j, k;
    for (i = 0; i < nb; ++i) adj[i * nb + i] = 1;
    for (i = 1; i < nb; ++i) adj[i * nb + i - 1] = 1;
    for (k = 0; k < (kind == 0 ? 10 : 25); ++k) {
        i = (int)dopt_rng_below(rng, (uint64_t)nb);
        j = (int)dopt_rng_below(rng, (uint64_t)nb);
        if (i < j) { int t = i; i = j; j = t; }
        adj[i * nb + j] = 1;
    }
    if (kind == 1)
        for (i = 0; i < 10; ++i)
            for (j = 0; j < i; ++j) adj[(3 * i + 2) * nb + 3 * j + 2] = 1;
    lpat_alloc(L, nb);
    L->start[0] = 0;
    for (j = 0; j < nb; ++j) {
        L->dim[j] = kind == 0 ? 1 + (int)dopt_rng_below(rng, 4) : 6;
        L->start[j + 1] = L->start[j] + L->dim[j];
    }
    lpat_from_adj(L, adj);
    free(adj);
}

static void lpat_free(lpat *L)
{
    free(L->dim); free(L->start); free(L->colst); free(L->rowb); free(L->vst);
}

/* A random block pattern of nb blocks of one size d (a chain with gaps plus `extra` random
 * pairs: pose-graph-like), in lpat's form, and its scalar LOWER expansion the way the sparse
 * least-squares solver builds it (every block dense, diagonal blocks full squares). */
static void lpat_make_uniform(lpat *L, int nb, int d, int extra, dopt_rng *rng)
{
    char *adj = (char *)calloc((size_t)nb * nb, 1);
    int i, j, k;
    for (i = 0; i < nb; ++i) adj[i * nb + i] = 1;
    for (i = 1; i < nb; ++i) adj[i * nb + i - 1] = dopt_rng_below(rng, 8) != 0;
    for (k = 0; k < extra; ++k) {
        i = (int)dopt_rng_below(rng, (uint64_t)nb);
        j = (int)dopt_rng_below(rng, (uint64_t)nb);
        if (i < j) { int t = i; i = j; j = t; }
        adj[i * nb + j] = 1;
    }
    lpat_alloc(L, nb);
    for (j = 0; j <= nb; ++j) L->start[j] = j * d;
    for (j = 0; j < nb; ++j) L->dim[j] = d;
    lpat_from_adj(L, adj);
    free(adj);
}

static void lpat_scalar(const lpat *L, int **Ap_, int **Ai_)
{
    int *Ap = (int *)malloc(sizeof(int) * ((size_t)L->pat.n + 1)), *Ai = (int *)malloc(sizeof(int) * (L->pat.nvalues + 1));
    int b, c, k, i, p = 0;
    for (b = 0; b < L->nb; ++b)
        for (c = 0; c < L->dim[b]; ++c) {
            Ap[L->start[b] + c] = p;
            for (k = L->colst[b]; k < L->colst[b + 1]; ++k)
                for (i = 0; i < L->dim[L->rowb[k]]; ++i) Ai[p++] = L->start[L->rowb[k]] + i;
        }
    Ap[L->pat.n] = p;
    *Ap_ = Ap;
    *Ai_ = Ai;
}

/* 1 when the two symbolic objects agree in every array and count (A's pattern included). */
static int symbolic_equal(const dopt_sparse_symbolic *a, const dopt_sparse_symbolic *b)
{
    const size_t n = (size_t)a->n, ns = (size_t)a->nsuper, nz = (size_t)a->nnz_a;
    if (a->n != b->n || a->nnz_a != b->nnz_a || a->nsuper != b->nsuper || a->nnz_l != b->nnz_l || a->flops != b->flops ||
        a->nnz_storage != b->nnz_storage || a->max_nsrow != b->max_nsrow || a->max_nscol != b->max_nscol ||
        a->max_update != b->max_update || a->uplo != b->uplo)
        return 0;
    if (memcmp(a->Ap, b->Ap, (n + 1) * sizeof(int)) || memcmp(a->Ai, b->Ai, nz * sizeof(int)) ||
        memcmp(a->perm, b->perm, n * sizeof(int)) || memcmp(a->iperm, b->iperm, n * sizeof(int)) ||
        memcmp(a->parent, b->parent, n * sizeof(int)) || memcmp(a->colcount, b->colcount, n * sizeof(int)) ||
        memcmp(a->super, b->super, (ns + 1) * sizeof(int)) || memcmp(a->col2super, b->col2super, n * sizeof(int)) ||
        memcmp(a->sparent, b->sparent, ns * sizeof(int)) || memcmp(a->rowptr, b->rowptr, (ns + 1) * sizeof(int)) ||
        memcmp(a->rowind, b->rowind, (size_t)a->rowptr[ns] * sizeof(int)) ||
        memcmp(a->valptr, b->valptr, (ns + 1) * sizeof(size_t)) || memcmp(a->amap, b->amap, nz * sizeof(size_t)) ||
        memcmp(a->aptr, b->aptr, (ns + 1) * sizeof(int)) || memcmp(a->aent, b->aent, (size_t)a->aptr[ns] * sizeof(int)) ||
        memcmp(a->adst, b->adst, (size_t)a->aptr[ns] * sizeof(size_t)))
        return 0;
    return 1;
}

/* The block path of the least-squares layer's analysis (dopt__sp_analyze_blocks) on random block
 * patterns (block sizes 1, 2, 3, 6; AMD and natural; relaxed and fundamental supernodes): its
 * symbolic object equals dopt_sparse_analyze's on the scalar pattern with the block path's
 * ordering as user_perm, array by array; with blocks of size 1 it IS the scalar AMD analysis;
 * its fill (nnz(L)) against scalar AMD's stays close (block AMD sees the same graph up to AMD's
 * own supervariable detection).  Patterns the block path cannot take are refused. */
static void test_block_analysis(void)
{
    static const int dims[4] = {1, 2, 3, 6};
    const int trials = dopt_test_quick() ? 60 : 300;
    double worst = 0, sum_b = 0, sum_s = 0;
    int t, equal = 0, same_amd = 0, ones = 0;
    dopt_rng rng;
    dopt_hooks h;
    memset(&h, 0, sizeof h);
    dopt_rng_seed(&rng, 32, 1);
    for (t = 0; t < trials; ++t) {
        const int nb = 1 + (int)dopt_rng_below(&rng, 90), d = dims[t % 4];
        dopt_sparse_options o, ou;
        dopt_sparse_symbolic *Sb = NULL, *Su = NULL, *Sa = NULL;
        int *Ap, *Ai;
        lpat L;
        memset(&o, 0, sizeof o);
        o.ordering = t % 7 == 3 ? DOPT_SPARSE_ORDER_NATURAL : DOPT_SPARSE_ORDER_AMD;
        o.fundamental = t % 5 == 2;
        lpat_make_uniform(&L, nb, d, (int)dopt_rng_below(&rng, (uint64_t)(2 * nb + 1)), &rng);
        lpat_scalar(&L, &Ap, &Ai);
        DOPT_CHECK(dopt__sp_blocks_ok(&L.pat, &o), "trial %d: block path allowed", t);
        DOPT_CHECK(dopt__sp_analyze_blocks(&h, &L.pat, Ap, Ai, &o, &Sb, NULL) == DOPT_OK, "trial %d: block analysis", t);
        ou = o;
        ou.ordering = DOPT_SPARSE_ORDER_USER;
        ou.user_perm = Sb ? Sb->perm : NULL;
        DOPT_CHECK(dopt_sparse_analyze(NULL, L.pat.n, Ap, Ai, DOPT_LOWER, &ou, &Su, NULL) == DOPT_OK, "trial %d: scalar", t);
        DOPT_CHECK(dopt_sparse_analyze(NULL, L.pat.n, Ap, Ai, DOPT_LOWER, &o, &Sa, NULL) == DOPT_OK, "trial %d: scalar AMD", t);
        if (Sb && Su && Sa) {
            int eq = symbolic_equal(Sb, Su);
            equal += eq;
            DOPT_CHECK(eq, "trial %d (nb %d, d %d): block-path symbolic differs from the scalar one with its ordering", t, nb, d);
            if (d == 1) {
                ones++;
                same_amd += symbolic_equal(Sb, Sa);
            }
            if (o.ordering == DOPT_SPARSE_ORDER_AMD) {
                sum_b += Sb->nnz_l;
                sum_s += Sa->nnz_l;
                if (Sb->nnz_l / Sa->nnz_l > worst) worst = Sb->nnz_l / Sa->nnz_l;
            }
        }
        dopt_sparse_symbolic_destroy(Sb);
        dopt_sparse_symbolic_destroy(Su);
        dopt_sparse_symbolic_destroy(Sa);
        free(Ap);
        free(Ai);
        lpat_free(&L);
    }
    DOPT_CHECK(same_amd == ones, "blocks of size 1: the block path equals scalar AMD (%d of %d)", same_amd, ones);
    DOPT_CHECK(sum_b <= 1.05 * sum_s && worst <= 1.5, "block AMD fill: total %.4g vs scalar %.4g, worst ratio %.3f",
               sum_b, sum_s, worst);
    if (getenv("DOPT_TEST_VERBOSE"))
        printf("    block analysis: %d/%d identical; fill block/scalar AMD total %.4f, worst %.3f\n", equal, trials,
               sum_b / sum_s, worst);
    { /* refused: mixed sizes, a missing diagonal block, a user ordering, scalar_analysis */
        lpat L;
        dopt_sparse_options o;
        memset(&o, 0, sizeof o);
        lpat_make(&L, 0, &rng); /* sizes 1..4 */
        DOPT_CHECK(!dopt__sp_blocks_ok(&L.pat, &o), "mixed block sizes refused");
        lpat_free(&L);
        lpat_make_uniform(&L, 5, 3, 3, &rng);
        DOPT_CHECK(dopt__sp_blocks_ok(&L.pat, &o), "uniform pattern taken");
        o.scalar_analysis = 1;
        DOPT_CHECK(!dopt__sp_blocks_ok(&L.pat, &o), "scalar_analysis refused");
        o.scalar_analysis = 0;
        o.ordering = DOPT_SPARSE_ORDER_USER;
        DOPT_CHECK(!dopt__sp_blocks_ok(&L.pat, &o), "user ordering refused");
        o.ordering = DOPT_SPARSE_ORDER_AMD;
        L.rowb[L.colst[2]] = 3; /* block column 2 without its diagonal block */
        DOPT_CHECK(!dopt__sp_blocks_ok(&L.pat, &o), "missing diagonal block refused");
        lpat_free(&L);
    }
}

#define TEST_SPARSE_PASS
#define DOPT_GENERIC "tests/test_sparse.c"
#include "dopt.h"
#undef DOPT_GENERIC
#undef TEST_SPARSE_PASS

static void suite(void)
{
    DOPT_TEST_RUN(test_triplets);
    DOPT_TEST_RUN(test_colcounts_vs_brute);
    DOPT_TEST_RUN(test_amd_quality);
    DOPT_TEST_RUN(test_block_analysis);
    DOPT_TEST_RUN(test_patterns_d);
    DOPT_TEST_RUN(test_patterns_f);
    DOPT_TEST_RUN(test_refactor_batch_d);
    DOPT_TEST_RUN(test_refactor_batch_f);
    DOPT_TEST_RUN(test_selinv_d);
    DOPT_TEST_RUN(test_selinv_f);
    DOPT_TEST_RUN(test_multi_rhs_d);
    DOPT_TEST_RUN(test_multi_rhs_f);
    DOPT_TEST_RUN(test_big_supernode_d);
    DOPT_TEST_RUN(test_big_supernode_f);
    DOPT_TEST_RUN(test_linear_solver_d);
    DOPT_TEST_RUN(test_linear_solver_f);
    DOPT_TEST_RUN(test_block_path_solve_d);
    DOPT_TEST_RUN(test_block_path_solve_f);
    DOPT_TEST_RUN(test_lane_batch_d);
    DOPT_TEST_RUN(test_lane_batch_f);
    DOPT_TEST_RUN(test_backward_fd);
    DOPT_TEST_RUN(test_errors);
    DOPT_TEST_RUN(test_wide_pivot);
    DOPT_TEST_RUN(test_mm_reader);
    DOPT_TEST_RUN(test_mm_hostile);
    DOPT_TEST_RUN(test_alloc_failures);
    DOPT_TEST_RUN(test_data_spd);
}
DOPT_TEST_MAIN(suite)

#elif defined(TEST_SPARSE_PASS) && defined(DOPT_REAL)
/* ---- precision-generic tests -------------------------------------------------------------------- */

/* A random SPD matrix on pattern p: off-diagonal uniform in [-1, 1], diagonal = row sum of
 * |off-diagonal| + 1 + u.  Stored as the `uplo` triangle, diagonal included, duplicates kept
 * (their values add).  Returns nnz. */
static int DOPT_FN(make_spd)(const tpat *p, dopt_uplo uplo, dopt_rng *rng, int **Ap_, int **Ai_, DOPT_REAL **Ax_)
{
    int n = p->n, k, j, *Ap, *Ai, *cnt;
    DOPT_REAL *Ax, *diag;
    cnt = (int *)calloc((size_t)n + 1, sizeof(int));
    diag = (DOPT_REAL *)calloc((size_t)n, sizeof(DOPT_REAL));
    for (k = 0; k < p->m; ++k) cnt[uplo == DOPT_LOWER ? p->tj[k] : p->ti[k]]++;
    Ap = (int *)malloc(sizeof(int) * ((size_t)n + 1));
    Ai = (int *)malloc(sizeof(int) * ((size_t)p->m + (size_t)n + 1));
    Ax = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * ((size_t)p->m + (size_t)n + 1));
    Ap[0] = 0;
    for (j = 0; j < n; ++j) Ap[j + 1] = Ap[j] + cnt[j] + 1;
    for (j = 0; j < n; ++j) cnt[j] = Ap[j];
    for (j = 0; j < n; ++j) {
        if (uplo == DOPT_LOWER) Ai[cnt[j]++] = j; /* diagonal first in lower, last in upper */
    }
    for (k = 0; k < p->m; ++k) {
        int c = uplo == DOPT_LOWER ? p->tj[k] : p->ti[k], r = uplo == DOPT_LOWER ? p->ti[k] : p->tj[k];
        DOPT_REAL v = (DOPT_REAL)(2 * dopt_rng_uniform_d(rng) - 1);
        Ai[cnt[c]] = r;
        Ax[cnt[c]++] = v;
        diag[r] += DOPT_M(fabs)(v);
        diag[c] += DOPT_M(fabs)(v);
    }
    for (j = 0; j < n; ++j) {
        DOPT_REAL d = diag[j] + 1 + (DOPT_REAL)dopt_rng_uniform_d(rng);
        if (uplo == DOPT_LOWER) Ax[Ap[j]] = d;
        else { Ai[cnt[j]] = j; Ax[cnt[j]++] = d; }
    }
    free(cnt);
    free(diag);
    *Ap_ = Ap;
    *Ai_ = Ai;
    *Ax_ = Ax;
    return Ap[n];
}

/* y = A x for the symmetric A stored as one triangle; also returns max column abs sum. */
static double DOPT_FN(sym_matvec)(int n, const int *Ap, const int *Ai, const DOPT_REAL *Ax, const DOPT_REAL *x,
                                  double *y)
{
    int j, p;
    double an = 0, *cs = (double *)calloc((size_t)n, sizeof(double));
    for (j = 0; j < n; ++j) y[j] = 0;
    for (j = 0; j < n; ++j)
        for (p = Ap[j]; p < Ap[j + 1]; ++p) {
            int i = Ai[p];
            y[i] += (double)Ax[p] * x[j];
            cs[j] += fabs((double)Ax[p]);
            if (i != j) { y[j] += (double)Ax[p] * x[i]; cs[i] += fabs((double)Ax[p]); }
        }
    for (j = 0; j < n; ++j) an = cs[j] > an ? cs[j] : an;
    free(cs);
    return an;
}

/* Every pattern kind x {AMD, natural} x {relaxed, fundamental} x {lower, upper}: the residual
 * ||Ax - b|| / (||A|| ||x||) and the agreement with dense Cholesky (dopt_spd_solve). */
static void DOPT_FN(test_patterns)(void)
{
    dopt_rng rng;
    int kind, variant, worst_kind = -1;
    double worst = 0, worst_dense = 0;
    const double tol = DOPT_TEST_TOL(1e-12, 2e-5);
    dopt_rng_seed(&rng, 1234, DOPT_IS_FLOAT);
    for (kind = 0; kind < PAT_COUNT; ++kind)
        for (variant = 0; variant < 8; ++variant) {
            tpat p;
            int sizes[PAT_COUNT] = {120, 150, 140, 130, 12, 5, 40, 25, 50, 260};
            int n, nnz, *Ap, *Ai, i, j, q;
            DOPT_REAL *Ax, *b, *x, *dense;
            double *y, an, rn = 0, xn = 0, dd = 0;
            dopt_uplo uplo = (variant & 4) ? DOPT_UPPER : DOPT_LOWER;
            dopt_sparse_options o;
            dopt_sparse_symbolic *S = NULL;
            DOPT_FN(dopt_sparse_numeric) *F = NULL;
            dopt_errinfo info;
            dopt_status st;
            make_pattern(&p, kind, sizes[kind], &rng);
            n = p.n;
            nnz = DOPT_FN(make_spd)(&p, uplo, &rng, &Ap, &Ai, &Ax);
            memset(&o, 0, sizeof o);
            o.ordering = (variant & 1) ? DOPT_SPARSE_ORDER_NATURAL : DOPT_SPARSE_ORDER_AMD;
            o.fundamental = (variant & 2) ? 1 : 0;
            st = dopt_sparse_analyze(NULL, n, Ap, Ai, uplo, &o, &S, &info);
            if (st == DOPT_OK) st = DOPT_FN(dopt_sparse_numeric_create)(S, 1, &F);
            if (st == DOPT_OK) st = DOPT_FN(dopt_sparse_factor)(F, Ax, &info);
            DOPT_CHECK(st == DOPT_OK, "%s variant %d: %s", pat_name[kind], variant, dopt_status_string(st));
            b = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n);
            x = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n);
            y = (double *)malloc(sizeof(double) * (size_t)n);
            dense = (DOPT_REAL *)calloc((size_t)n * n, sizeof(DOPT_REAL));
            if (st == DOPT_OK) {
                DOPT_FN(dopt_rng_fill_normal)(&rng, n, b, 0, 1);
                memcpy(x, b, sizeof(DOPT_REAL) * (size_t)n);
                DOPT_FN(dopt_sparse_solve)(F, 1, x, n);
                an = DOPT_FN(sym_matvec)(n, Ap, Ai, Ax, x, y);
                for (i = 0; i < n; ++i) {
                    rn = fabs(y[i] - b[i]) > rn ? fabs(y[i] - b[i]) : rn;
                    xn = fabs((double)x[i]) > xn ? fabs((double)x[i]) : xn;
                }
                if (rn / (an * xn) > worst) { worst = rn / (an * xn); worst_kind = kind; }
                /* dense Cholesky of the same matrix */
                for (j = 0; j < n; ++j)
                    for (q = Ap[j]; q < Ap[j + 1]; ++q) {
                        int r = Ai[q], lo = r > j ? j : r, hi = r > j ? r : j;
                        dense[hi + (size_t)lo * n] += Ax[q];
                    }
                for (j = 0; j < n; ++j)
                    for (i = 0; i < j; ++i) dense[i + (size_t)j * n] = dense[j + (size_t)i * n];
                {
                    DOPT_REAL *xd = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n);
                    int fc;
                    memcpy(xd, b, sizeof(DOPT_REAL) * (size_t)n);
                    DOPT_FN(dopt_spd_solve)(NULL, n, 1, dense, n, xd, n, &fc);
                    for (i = 0; i < n; ++i) dd = fabs((double)(xd[i] - x[i])) > dd ? fabs((double)(xd[i] - x[i])) : dd;
                    free(xd);
                }
                if (dd / xn > worst_dense) worst_dense = dd / xn;
            }
            DOPT_FN(dopt_sparse_numeric_destroy)(F);
            dopt_sparse_symbolic_destroy(S);
            free(Ap); free(Ai); free(Ax); free(b); free(x); free(y); free(dense);
            tpat_free(&p);
            (void)nnz;
        }
    DOPT_CHECK(worst < tol, "worst relative residual %g (pattern %s)", worst, worst_kind >= 0 ? pat_name[worst_kind] : "-");
    DOPT_CHECK(worst_dense < DOPT_TEST_TOL(1e-10, 1e-3), "worst difference from dense Cholesky %g", worst_dense);
}

/* dopt_sparse_selinv: every entry of A's pattern (both storage triangles), for every pattern kind,
 * AMD and natural order, relaxed and fundamental supernodes, equals the inverse computed column by
 * column with solves (relative to sqrt(Z_ii Z_jj)); a short workspace gives ALLOCATION, a failed
 * factor NOT_POSITIVE_DEFINITE. */
static void DOPT_FN(test_selinv)(void)
{
    dopt_rng rng;
    int kind, variant;
    double worst = 0;
    dopt_rng_seed(&rng, 4321, DOPT_IS_FLOAT);
    for (kind = 0; kind < PAT_COUNT; ++kind)
        for (variant = 0; variant < 8; ++variant) {
            tpat p;
            int sizes[PAT_COUNT] = {60, 70, 80, 60, 12, 5, 40, 25, 50, 90};
            int n, *Ap, *Ai, i, j, q;
            DOPT_REAL *Ax, *Zinv, *Z;
            void *work;
            size_t wbytes;
            dopt_uplo uplo = (variant & 4) ? DOPT_UPPER : DOPT_LOWER;
            dopt_sparse_options o;
            dopt_sparse_symbolic *S = NULL;
            DOPT_FN(dopt_sparse_numeric) *F = NULL;
            dopt_status st;
            make_pattern(&p, kind, sizes[kind], &rng);
            n = p.n;
            DOPT_FN(make_spd)(&p, uplo, &rng, &Ap, &Ai, &Ax);
            memset(&o, 0, sizeof o);
            o.ordering = (variant & 1) ? DOPT_SPARSE_ORDER_NATURAL : DOPT_SPARSE_ORDER_AMD;
            o.fundamental = (variant & 2) ? 1 : 0;
            st = dopt_sparse_analyze(NULL, n, Ap, Ai, uplo, &o, &S, NULL);
            if (st == DOPT_OK) st = DOPT_FN(dopt_sparse_numeric_create)(S, 1, &F);
            if (st == DOPT_OK) st = DOPT_FN(dopt_sparse_factor)(F, Ax, NULL);
            DOPT_CHECK(st == DOPT_OK, "selinv %s variant %d: factor %s", pat_name[kind], variant, dopt_status_string(st));
            if (st != DOPT_OK) { tpat_free(&p); free(Ap); free(Ai); free(Ax); continue; }
            Zinv = (DOPT_REAL *)calloc((size_t)n * (size_t)n, sizeof(DOPT_REAL));
            for (j = 0; j < n; ++j) Zinv[j + (size_t)j * n] = 1;
            DOPT_FN(dopt_sparse_solve)(F, n, Zinv, n);
            Z = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (S->nnz_storage + 1));
            wbytes = DOPT_FN(dopt_sparse_selinv_workspace_size)(S);
            work = malloc(wbytes);
            DOPT_CHECK(DOPT_FN(dopt_sparse_selinv)(F, 0, Z, work, wbytes - 1) == DOPT_ERR_ALLOCATION, "short workspace");
            st = DOPT_FN(dopt_sparse_selinv)(F, 0, Z, work, wbytes);
            DOPT_CHECK(st == DOPT_OK, "selinv %s variant %d: %s", pat_name[kind], variant, dopt_status_string(st));
            for (j = 0; st == DOPT_OK && j < n; ++j)
                for (q = Ap[j]; q < Ap[j + 1]; ++q) {
                    const double want = Zinv[Ai[q] + (size_t)j * n];
                    const double sc = sqrt((double)Zinv[Ai[q] + (size_t)Ai[q] * n] * (double)Zinv[j + (size_t)j * n]);
                    double got;
                    i = Ai[q];
                    if (S->amap[q] == (size_t)-1) continue; /* the ignored triangle */
                    got = Z[S->amap[q]];
                    if (fabs(got - want) / sc > worst) worst = fabs(got - want) / sc;
                }
            (void)i;
            if (kind == 0 && variant == 0) { /* a failed factorization is refused */
                DOPT_REAL keep = Ax[Ap[0]];
                Ax[Ap[0]] = -1;
                DOPT_CHECK(DOPT_FN(dopt_sparse_factor)(F, Ax, NULL) == DOPT_ERR_NOT_POSITIVE_DEFINITE, "indefinite");
                DOPT_CHECK(DOPT_FN(dopt_sparse_selinv)(F, 0, Z, work, wbytes) == DOPT_ERR_NOT_POSITIVE_DEFINITE,
                           "selinv after a failed factor");
                Ax[Ap[0]] = keep;
            }
            free(work); free(Z); free(Zinv);
            DOPT_FN(dopt_sparse_numeric_destroy)(F);
            dopt_sparse_symbolic_destroy(S);
            free(Ap); free(Ai); free(Ax);
            tpat_free(&p);
        }
    DOPT_CHECK(worst < DOPT_TEST_TOL(1e-12, 1e-4), "selinv: worst relative difference from the inverse %g", worst);
}

/* Refactorization with new values equals a fresh factorization bit for bit; a batch equals
 * separate factorizations; batch solves equal separate solves. */
static void DOPT_FN(test_refactor_batch)(void)
{
    enum { NB = 5 };
    dopt_rng rng;
    tpat p;
    int n, nnz, *Ap, *Ai, b, same = 1, kind;
    DOPT_REAL *Ax, *vals, *B1, *B2;
    dopt_rng_seed(&rng, 77, DOPT_IS_FLOAT);
    for (kind = 0; kind < 3; ++kind) {
        int pk = kind == 0 ? PAT_PGO3 : kind == 1 ? PAT_GRID2 : PAT_RANDOM, sz = kind == 0 ? 30 : kind == 1 ? 10 : 100;
        dopt_sparse_symbolic *S = NULL;
        DOPT_FN(dopt_sparse_numeric) *F = NULL, *G = NULL, *H = NULL;
        make_pattern(&p, pk, sz, &rng);
        n = p.n;
        nnz = DOPT_FN(make_spd)(&p, DOPT_LOWER, &rng, &Ap, &Ai, &Ax);
        vals = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)nnz * NB);
        for (b = 0; b < NB; ++b) { /* same pattern, values scaled and perturbed per element */
            int q;
            for (q = 0; q < nnz; ++q)
                vals[(size_t)b * nnz + q] = Ax[q] * (DOPT_REAL)(1 + 0.1 * b) + (Ai[q] == 0 ? 0 : (DOPT_REAL)(0.01 * dopt_rng_uniform_d(&rng)));
        }
        dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, NULL, &S, NULL);
        DOPT_FN(dopt_sparse_numeric_create)(S, NB, &F);
        DOPT_FN(dopt_sparse_numeric_create)(S, 1, &G);
        DOPT_FN(dopt_sparse_numeric_create)(S, 1, &H);
        DOPT_CHECK(F && G && H, "create");
        if (!F || !G || !H) return;
        F->interleave_bytes = 0; /* element by element first, then interleaved: same bits */
        DOPT_CHECK(DOPT_FN(dopt_sparse_factor_batch)(F, NB, vals, nnz, NULL) == DOPT_OK, "batch factor, one by one");
        {
            DOPT_REAL *keep = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * S->nnz_storage * NB);
            memcpy(keep, F->x, sizeof(DOPT_REAL) * S->nnz_storage * NB);
            F->interleave_bytes = (size_t)-1;
            DOPT_CHECK(DOPT_FN(dopt_sparse_factor_batch)(F, NB, vals, nnz, NULL) == DOPT_OK, "batch factor, interleaved");
            DOPT_CHECK(memcmp(keep, F->x, sizeof(DOPT_REAL) * S->nnz_storage * NB) == 0, "interleaved == one by one");
            free(keep);
        }
        /* G: factor element 0's values, then refactor with each element's values in turn */
        DOPT_FN(dopt_sparse_factor)(G, vals, NULL);
        B1 = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n * NB);
        B2 = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n * NB);
        DOPT_FN(dopt_rng_fill_normal)(&rng, n * NB, B1, 0, 1);
        memcpy(B2, B1, sizeof(DOPT_REAL) * (size_t)n * NB);
        DOPT_FN(dopt_sparse_solve_batch)(F, NB, 1, B1, n, n);
        for (b = 0; b < NB; ++b) {
            DOPT_FN(dopt_sparse_factor)(G, vals + (size_t)b * nnz, NULL);   /* refactor */
            DOPT_FN(dopt_sparse_factor)(H, vals + (size_t)b * nnz, NULL);   /* fresh path too */
            if (memcmp(G->x, F->x + (size_t)b * S->nnz_storage, sizeof(DOPT_REAL) * S->nnz_storage) != 0) same = 0;
            if (memcmp(G->x, H->x, sizeof(DOPT_REAL) * S->nnz_storage) != 0) same = 0;
            DOPT_FN(dopt_sparse_solve)(G, 1, B2 + (size_t)b * n, n);
        }
        DOPT_CHECK(same, "%s: batch and refactored factors equal separate factorizations bit for bit", pat_name[pk]);
        DOPT_CHECK(memcmp(B1, B2, sizeof(DOPT_REAL) * (size_t)n * NB) == 0, "batch solves equal separate solves");
        {   /* slices (what threads would take): elements 0..1 and 2..NB-1 of a second batch object,
             * each factored and solved through its own slice, equal the whole batch's results */
            DOPT_FN(dopt_sparse_numeric) *K = NULL, s1, s2;
            size_t wb = DOPT_FN(dopt_sparse_numeric_slice_size)(S);
            void *w1 = malloc(wb), *w2 = malloc(wb);
            DOPT_FN(dopt_sparse_numeric_create)(S, NB, &K);
            DOPT_CHECK(K && w1 && w2, "slice setup");
            if (K && w1 && w2) {
                DOPT_CHECK(DOPT_FN(dopt_sparse_numeric_slice)(&s1, K, 0, 2, w1, wb) == DOPT_OK, "slice 0..1");
                DOPT_CHECK(DOPT_FN(dopt_sparse_numeric_slice)(&s2, K, 2, NB - 2, w2, wb) == DOPT_OK, "slice 2..");
                DOPT_CHECK(DOPT_FN(dopt_sparse_numeric_slice)(&s2, K, 3, NB - 2, w2, wb) == DOPT_ERR_DIMENSION,
                           "slice past the batch");
                DOPT_CHECK(DOPT_FN(dopt_sparse_numeric_slice)(&s2, K, 0, 1, w2, wb - 1) == DOPT_ERR_ALLOCATION,
                           "slice memory short");
                DOPT_FN(dopt_sparse_numeric_slice)(&s2, K, 2, NB - 2, w2, wb);
                DOPT_CHECK(DOPT_FN(dopt_sparse_factor_batch)(&s1, 2, vals, nnz, NULL) == DOPT_OK &&
                               DOPT_FN(dopt_sparse_factor_batch)(&s2, NB - 2, vals + 2 * (size_t)nnz, nnz, NULL) == DOPT_OK,
                           "slice factorizations");
                DOPT_CHECK(memcmp(K->x, F->x, sizeof(DOPT_REAL) * S->nnz_storage * NB) == 0 &&
                               memcmp(K->fail_col, F->fail_col, sizeof(int) * NB) == 0,
                           "%s: factors of the slices equal the batch's bit for bit", pat_name[pk]);
                DOPT_FN(dopt_rng_fill_normal)(&rng, n * NB, B1, 0, 1);
                memcpy(B2, B1, sizeof(DOPT_REAL) * (size_t)n * NB);
                DOPT_FN(dopt_sparse_solve_batch)(F, NB, 1, B1, n, n);
                DOPT_FN(dopt_sparse_solve_batch)(&s1, 2, 1, B2, n, n);
                DOPT_FN(dopt_sparse_solve_batch)(&s2, NB - 2, 1, B2 + 2 * (size_t)n, n, n);
                DOPT_CHECK(memcmp(B1, B2, sizeof(DOPT_REAL) * (size_t)n * NB) == 0, "slice solves equal batch solves");
            }
            DOPT_FN(dopt_sparse_numeric_destroy)(K);
            free(w1); free(w2);
        }
        DOPT_FN(dopt_sparse_numeric_destroy)(F);
        DOPT_FN(dopt_sparse_numeric_destroy)(G);
        DOPT_FN(dopt_sparse_numeric_destroy)(H);
        dopt_sparse_symbolic_destroy(S);
        free(Ap); free(Ai); free(Ax); free(vals); free(B1); free(B2);
        tpat_free(&p);
    }
}

/* The least-squares layer's linear solver: same answers as dopt_linear_solver_dense, failing
 * columns in the pattern's numbering, rank deficiency detected. */
static void DOPT_FN(test_linear_solver)(void)
{
    enum { NB = 5 };
    int dims[NB] = {3, 2, 3, 1, 2}, start[NB + 1], colst[NB + 1], rows[16], nk = 0, b, k, i, j, n, fc = -7;
    size_t vst[16], nv = 0;
    dopt_block_pattern pat;
    DOPT_FN(dopt_linear_solver) sp, de;
    DOPT_REAL *M, *A, *vals, *x1, *x2, diag_add[11];
    dopt_rng rng;
    double err = 0;
    dopt_status st;
    start[0] = 0;
    for (b = 0; b < NB; ++b) start[b + 1] = start[b] + dims[b];
    n = start[NB];
    for (b = 0; b < NB; ++b) { /* block column b: diagonal, b+1, and the last block (arrow) */
        colst[b] = nk;
        rows[nk++] = b;
        if (b + 1 < NB) rows[nk++] = b + 1;
        if (b + 2 < NB) rows[nk++] = NB - 1;
    }
    colst[NB] = nk;
    for (k = 0, b = 0; b < NB; ++b)
        for (k = colst[b]; k < colst[b + 1]; ++k) { vst[k] = nv; nv += (size_t)dims[rows[k]] * dims[b]; }
    pat.nblocks = NB; pat.n = n; pat.block_dim = dims; pat.block_start = start;
    pat.col_start = colst; pat.row_block = rows; pat.value_start = vst; pat.nvalues = nv;
    dopt_rng_seed(&rng, 21, DOPT_IS_FLOAT);
    M = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n * n);
    A = (DOPT_REAL *)calloc((size_t)n * n, sizeof(DOPT_REAL));
    vals = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * nv);
    x1 = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n);
    x2 = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n);
    DOPT_FN(dopt_rng_fill_normal)(&rng, n * n, M, 0, 1);
    for (b = 0; b < NB; ++b) /* A = M M^T restricted to the pattern, + n I: SPD */
        for (k = colst[b]; k < colst[b + 1]; ++k) {
            int rb = rows[k], c, r, q;
            for (c = 0; c < dims[b]; ++c)
                for (r = 0; r < dims[rb]; ++r) {
                    int gi = start[rb] + r, gj = start[b] + c;
                    DOPT_REAL v = gi == gj ? (DOPT_REAL)n : 0;
                    for (q = 0; q < n; ++q) v += (DOPT_REAL)0.1 * M[gi + q * n] * M[gj + q * n];
                    vals[vst[k] + (size_t)r + (size_t)c * dims[rb]] = v;
                }
        }
    for (i = 0; i < n; ++i) diag_add[i] = (DOPT_REAL)(0.5 * i);
    DOPT_CHECK(DOPT_FN(dopt_sparse_linear_solver)(NULL, NULL, &sp) == DOPT_OK, "create sparse");
    DOPT_CHECK(DOPT_FN(dopt_linear_solver_dense)(NULL, &de) == DOPT_OK, "create dense");
    DOPT_CHECK(sp.analyze(sp.self, &pat, NULL) == DOPT_OK && de.analyze(de.self, &pat, NULL) == DOPT_OK, "analyze");
    st = sp.factor(sp.self, vals, diag_add, &fc);
    DOPT_CHECK(st == DOPT_OK && de.factor(de.self, vals, diag_add, NULL) == DOPT_OK, "factor: %s", dopt_status_string(st));
    DOPT_FN(dopt_rng_fill_normal)(&rng, n, x1, 0, 1);
    memcpy(x2, x1, sizeof(DOPT_REAL) * (size_t)n);
    sp.solve(sp.self, x1);
    de.solve(de.self, x2);
    for (i = 0; i < n; ++i) err = fabs((double)(x1[i] - x2[i])) > err ? fabs((double)(x1[i] - x2[i])) : err;
    DOPT_CHECK(err < DOPT_TEST_TOL(1e-12, 1e-4), "sparse vs dense linear solver: %g", err);
    { /* a NaN among the values or an Inf in diag_add: NON_FINITE with fail_col -2, then a clean refactor */
        DOPT_REAL keep = vals[vst[colst[1]] + 1];
        vals[vst[colst[1]] + 1] = (DOPT_REAL)NAN;
        st = sp.factor(sp.self, vals, diag_add, &fc);
        DOPT_CHECK(st == DOPT_ERR_NON_FINITE && fc == -2, "NaN value: %s, column %d", dopt_status_string(st), fc);
        vals[vst[colst[1]] + 1] = keep;
        diag_add[3] = (DOPT_REAL)INFINITY;
        st = sp.factor(sp.self, vals, diag_add, &fc);
        DOPT_CHECK(st == DOPT_ERR_NON_FINITE && fc == -2, "Inf in diag_add: %s, column %d", dopt_status_string(st), fc);
        diag_add[3] = (DOPT_REAL)1.5;
        st = sp.factor(sp.self, vals, diag_add, &fc);
        DOPT_CHECK(st == DOPT_OK && fc == -1, "refactor after non-finite input: %s", dopt_status_string(st));
    }
    /* block 2 made rank deficient: zero its rows and columns (diagonal block included) */
    for (b = 0; b < NB; ++b)
        for (k = colst[b]; k < colst[b + 1]; ++k) {
            int rb = rows[k], c, r;
            if (rb != 2 && b != 2) continue;
            for (c = 0; c < dims[b]; ++c)
                for (r = 0; r < dims[rb]; ++r) vals[vst[k] + (size_t)r + (size_t)c * dims[rb]] = 0;
        }
    st = sp.factor(sp.self, vals, NULL, &fc);
    DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && fc >= start[2] && fc < start[3],
               "rank deficiency reported in block 2's columns (%s, column %d)", dopt_status_string(st), fc);
    vals[vst[colst[2]]] = (DOPT_REAL)1e-30; /* a tiny pivot: still rank deficient */
    st = sp.factor(sp.self, vals, NULL, &fc);
    DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && fc >= start[2] && fc < start[3], "tiny pivot reported");
    sp.destroy(sp.self);
    de.destroy(de.self);
    (void)j;
    free(M); free(A); free(vals); free(x1); free(x2);
}

/* Random SPD values on the block pattern: off-diagonal entries uniform in [-1, 1], each diagonal
 * entry 1 + u + the absolute sums of its row and column (diagonally dominant). */
static void DOPT_FN(lpat_values)(const lpat *L, dopt_rng *rng, DOPT_REAL *vals)
{
    const int n = L->pat.n;
    double *absum = (double *)calloc((size_t)n, sizeof(double));
    int b, k, r, c;
    for (b = 0; b < L->nb; ++b)
        for (k = L->colst[b]; k < L->colst[b + 1]; ++k) {
            const int rb = L->rowb[k], rd = L->dim[rb];
            for (c = 0; c < L->dim[b]; ++c)
                for (r = 0; r < rd; ++r) {
                    const int gi = L->start[rb] + r, gj = L->start[b] + c;
                    DOPT_REAL *v = vals + L->vst[k] + (size_t)r + (size_t)c * rd;
                    if (gi < gj) continue; /* upper half of a diagonal block: mirrored below */
                    *v = gi == gj ? 0 : (DOPT_REAL)(2 * dopt_rng_uniform_d(rng) - 1);
                    absum[gi] += fabs((double)*v);
                    absum[gj] += fabs((double)*v);
                    if (rb == b && gi != gj) vals[L->vst[k] + (size_t)c + (size_t)r * rd] = *v;
                }
        }
    for (b = 0; b < L->nb; ++b) /* the diagonal block is the first of its column */
        for (c = 0; c < L->dim[b]; ++c)
            vals[L->vst[L->colst[b]] + (size_t)c * (L->dim[b] + 1)] =
                (DOPT_REAL)(1 + dopt_rng_uniform_d(rng) + absum[L->start[b] + c]);
    free(absum);
}

/* The sparse least-squares solver with the block-path analysis (default) against the same solver
 * analyzing the scalar pattern (scalar_analysis = 1) on random uniform block patterns: equal
 * solutions (1e-12 relative in double), equal fill when the block size is 1. */
static void DOPT_FN(test_block_path_solve)(void)
{
    static const int dims[4] = {1, 2, 3, 6};
    const int trials = dopt_test_quick() ? 12 : 40;
    dopt_rng rng;
    double worst = 0;
    int t, i;
    dopt_rng_seed(&rng, 33, DOPT_IS_FLOAT);
    for (t = 0; t < trials; ++t) {
        const int nb = 1 + (int)dopt_rng_below(&rng, 60), d = dims[t % 4];
        dopt_sparse_options so;
        DOPT_FN(dopt_linear_solver) lb, ls;
        DOPT_REAL *vals, *xb, *xs;
        double num = 0, den = 0;
        lpat L;
        int fb = -7, fs = -7;
        lpat_make_uniform(&L, nb, d, (int)dopt_rng_below(&rng, (uint64_t)(2 * nb + 1)), &rng);
        vals = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (L.pat.nvalues + 1));
        xb = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)L.pat.n);
        xs = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)L.pat.n);
        DOPT_FN(lpat_values)(&L, &rng, vals);
        DOPT_FN(dopt_rng_fill_normal)(&rng, L.pat.n, xb, 0, 1);
        memcpy(xs, xb, sizeof(DOPT_REAL) * (size_t)L.pat.n);
        memset(&so, 0, sizeof so);
        so.scalar_analysis = 1;
        DOPT_CHECK(DOPT_FN(dopt_sparse_linear_solver)(NULL, NULL, &lb) == DOPT_OK &&
                   DOPT_FN(dopt_sparse_linear_solver)(NULL, &so, &ls) == DOPT_OK, "create");
        DOPT_CHECK(lb.analyze(lb.self, &L.pat, NULL) == DOPT_OK && ls.analyze(ls.self, &L.pat, NULL) == DOPT_OK, "analyze");
        DOPT_CHECK(lb.factor(lb.self, vals, NULL, &fb) == DOPT_OK && ls.factor(ls.self, vals, NULL, &fs) == DOPT_OK,
                   "trial %d: factor (%d, %d)", t, fb, fs);
        lb.solve(lb.self, xb);
        ls.solve(ls.self, xs);
        for (i = 0; i < L.pat.n; ++i) {
            num = fmax(num, fabs((double)(xb[i] - xs[i])));
            den = fmax(den, fabs((double)xs[i]));
        }
        DOPT_CHECK(num <= DOPT_TEST_TOL(1e-12, 1e-4) * den, "trial %d (nb %d, d %d): block vs scalar analysis %g of %g",
                   t, nb, d, num, den);
        if (num / den > worst) worst = num / den;
        if (d == 1) {
            const dopt_sparse_symbolic *Sb = ((const DOPT_FN(dopt__sp_ls) *)lb.self)->sym;
            const dopt_sparse_symbolic *Ss = ((const DOPT_FN(dopt__sp_ls) *)ls.self)->sym;
            DOPT_CHECK(symbolic_equal(Sb, Ss), "trial %d: size-1 blocks, the same analysis", t);
        }
        lb.destroy(lb.self);
        ls.destroy(ls.self);
        free(vals); free(xb); free(xs);
        lpat_free(&L);
    }
    if (getenv("DOPT_TEST_VERBOSE")) printf("    block path solve: worst relative difference %.3g\n", worst);
}

/* The lane batch of the sparse least-squares solver (factor_batch / solve_batch) against
 * factor() + solve() matrix by matrix, on a small random block pattern and a pose graph with a
 * dense root, for 1, 3 and W matrices: equal statuses and failing columns, equal solutions;
 * a matrix that is not positive definite, a rank-deficient one, NaN values and an Inf in
 * diag_add next to healthy lanes; diag_add NULL or with NULL entries; misuse rejected; factor()
 * and the reserved slots unchanged by lane use. */
static void DOPT_FN(test_lane_batch)(void)
{
    enum { WMAX = 16 };
    int kind;
    dopt_rng rng;
    dopt_rng_seed(&rng, 77, DOPT_IS_FLOAT);
    for (kind = 0; kind < 2; ++kind) {
        lpat L;
        DOPT_FN(dopt_linear_solver) ls;
        DOPT_REAL *vals[WMAX], *dadd[WMAX], *rhs[WMAX], *orig[WMAX], *ref;
        const DOPT_REAL *cvals[WMAX], *cdadd[WMAX];
        dopt_status st[WMAX], st1;
        int fc[WMAX], fc1, W, n, l, i, trial;
        size_t nv;
        lpat_make(&L, kind, &rng);
        n = L.pat.n;
        nv = L.pat.nvalues;
        DOPT_CHECK(DOPT_FN(dopt_sparse_linear_solver)(NULL, NULL, &ls) == DOPT_OK, "create");
        DOPT_CHECK(ls.analyze(ls.self, &L.pat, NULL) == DOPT_OK, "analyze");
        W = ls.batch_width;
        DOPT_CHECK(W >= 2 && W <= WMAX && ls.reserve_batch && ls.factor_batch && ls.solve_batch, "lane batch offered (W %d)", W);
        if (W < 2 || W > WMAX) { ls.destroy(ls.self); lpat_free(&L); return; }
        ref = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n);
        for (l = 0; l < W; ++l) {
            vals[l] = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * nv);
            dadd[l] = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n);
            rhs[l] = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n);
            orig[l] = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n);
        }
        DOPT_CHECK(ls.factor_batch(ls.self, 1, (const DOPT_REAL *const *)vals, NULL, st, fc) == DOPT_ERR_INVALID_ARGUMENT,
                   "factor_batch before reserve_batch is refused");
        DOPT_CHECK(ls.reserve_batch(ls.self) == DOPT_OK, "reserve_batch");
        DOPT_CHECK(ls.factor_batch(ls.self, 0, (const DOPT_REAL *const *)vals, NULL, st, fc) == DOPT_ERR_INVALID_ARGUMENT &&
                       ls.factor_batch(ls.self, W + 1, (const DOPT_REAL *const *)vals, NULL, st, fc) == DOPT_ERR_INVALID_ARGUMENT,
                   "count outside 1..W refused");
        for (trial = 0; trial < 4; ++trial) {
            /* trial 0: count 1, no diag_add; 1: count 3 with a NULL diag_add entry; 2: W lanes with
             * failures (lane 1 indefinite, lane 2 NaN, lane 3 rank deficient, lane 4 Inf in diag_add);
             * 3: W healthy lanes, diag_add on all */
            const int count = trial == 0 ? 1 : trial == 1 ? 3 : W;
            const int use_dadd = trial != 0;
            for (l = 0; l < count; ++l) {
                DOPT_FN(lpat_values)(&L, &rng, vals[l]);
                for (i = 0; i < n; ++i) dadd[l][i] = (DOPT_REAL)(0.25 * dopt_rng_uniform_d(&rng));
                cdadd[l] = use_dadd && !(trial == 1 && l == 1) ? dadd[l] : NULL;
            }
            if (trial == 2) {
                vals[1][L.vst[L.colst[L.nb / 2]]] = -50; /* a negative diagonal entry */
                vals[2][nv / 2] = (DOPT_REAL)NAN;
                { /* lane 3: a block of >= 2 columns decoupled, its diagonal block [1 1; 1 1+delta]
                     * (rest identity): a tiny positive pivot that only the rank check catches */
                    int b, k, r, c, bs = 0;
                    while (L.dim[bs] < 2) bs++;
                    for (b = 0; b < L.nb; ++b)
                        for (k = L.colst[b]; k < L.colst[b + 1]; ++k)
                            if (b == bs || L.rowb[k] == bs)
                                for (c = 0; c < L.dim[b]; ++c)
                                    for (r = 0; r < L.dim[L.rowb[k]]; ++r)
                                        vals[3][L.vst[k] + (size_t)r + (size_t)c * L.dim[L.rowb[k]]] =
                                            (b == bs && L.rowb[k] == bs && (r == c || r + c == 1)) ? 1 : 0;
                    vals[3][L.vst[L.colst[bs]] + (size_t)L.dim[bs] + 1] += (DOPT_REAL)(DOPT_IS_FLOAT ? 1e-5 : 1e-13);
                    for (i = L.start[bs]; i < L.start[bs + 1]; ++i) dadd[3][i] = 0;
                }
                if (W > 4) dadd[4][n - 1] = (DOPT_REAL)INFINITY;
            }
            for (l = 0; l < count; ++l) {
                cvals[l] = vals[l];
                for (i = 0; i < n; ++i) orig[l][i] = rhs[l][i] = (DOPT_REAL)(2 * dopt_rng_uniform_d(&rng) - 1);
            }
            DOPT_CHECK(ls.factor_batch(ls.self, count, cvals, use_dadd ? cdadd : NULL, st, fc) == DOPT_OK, "factor_batch call");
            ls.solve_batch(ls.self, count, rhs);
            for (l = 0; l < count; ++l) { /* the same matrix alone through factor() and solve() */
                double dmax = 0, rmax = 0;
                fc1 = -7;
                st1 = ls.factor(ls.self, vals[l], use_dadd ? cdadd[l] : NULL, &fc1);
                DOPT_CHECK(st[l] == st1 && fc[l] == fc1, "kind %d count %d lane %d: batch %s col %d, factor() %s col %d", kind,
                           count, l, dopt_status_string(st[l]), fc[l], dopt_status_string(st1), fc1);
                if (trial == 2 && l >= 1 && l <= 3)
                    DOPT_CHECK(st[l] != DOPT_OK, "kind %d lane %d should fail", kind, l);
                if (trial == 2 && l == 2) DOPT_CHECK(st[l] == DOPT_ERR_NON_FINITE && fc[l] == -2, "NaN lane: %d", fc[l]);
                if (trial == 2 && l == 4) DOPT_CHECK(st[l] == DOPT_ERR_NON_FINITE && fc[l] == -2, "Inf diag_add lane: %d", fc[l]);
                if (trial == 2 && l == 1)
                    DOPT_CHECK(st[l] == DOPT_ERR_NOT_POSITIVE_DEFINITE && fc[l] >= L.start[L.nb / 2] && fc[l] < L.start[L.nb / 2 + 1],
                               "indefinite lane: column %d", fc[l]);
                if (st1 != DOPT_OK) { /* a failed lane's right-hand side stays as it was */
                    for (i = 0; i < n; ++i) dmax = fabs((double)(rhs[l][i] - orig[l][i])) > dmax ? fabs((double)(rhs[l][i] - orig[l][i])) : dmax;
                    DOPT_CHECK(dmax == 0, "kind %d lane %d: failed lane's rhs changed", kind, l);
                    continue;
                }
                memcpy(ref, orig[l], sizeof(DOPT_REAL) * (size_t)n);
                ls.solve(ls.self, ref);
                for (i = 0; i < n; ++i) {
                    dmax = fabs((double)(rhs[l][i] - ref[i])) > dmax ? fabs((double)(rhs[l][i] - ref[i])) : dmax;
                    rmax = fabs((double)ref[i]) > rmax ? fabs((double)ref[i]) : rmax;
                }
                DOPT_CHECK(dmax <= DOPT_TEST_TOL(1e-12, 1e-4) * rmax, "kind %d count %d lane %d: solution differs by %g (of %g)",
                           kind, count, l, dmax, rmax);
            }
        }
        if (ls.reserve && ls.select) { /* factor slots beside the lane batch: neither disturbs the other */
            double dmax = 0;
            DOPT_CHECK(ls.reserve(ls.self, 2) == DOPT_OK, "reserve 2 slots");
            ls.select(ls.self, 1);
            DOPT_CHECK(ls.factor(ls.self, vals[0], NULL, &fc1) == DOPT_OK, "factor into slot 1");
            ls.select(ls.self, 0);
            DOPT_CHECK(ls.factor(ls.self, vals[W - 1], dadd[W - 1], &fc1) == DOPT_OK, "factor into slot 0");
            ls.select(ls.self, 1);
            for (i = 0; i < n; ++i) orig[0][i] = ref[i] = (DOPT_REAL)(1 + i % 5);
            ls.solve(ls.self, ref);
            cvals[0] = vals[W - 1];
            cvals[1] = vals[0];
            DOPT_CHECK(ls.factor_batch(ls.self, 2, cvals, NULL, st, fc) == DOPT_OK && st[0] == DOPT_OK && st[1] == DOPT_OK,
                       "factor_batch beside the slots");
            ls.solve(ls.self, orig[0]);
            for (i = 0; i < n; ++i) dmax = fabs((double)(orig[0][i] - ref[i])) > dmax ? fabs((double)(orig[0][i] - ref[i])) : dmax;
            DOPT_CHECK(dmax == 0, "slot 1 unchanged by factor_batch (%g)", dmax);
            for (i = 0; i < n; ++i) rhs[1][i] = (DOPT_REAL)(1 + i % 5);
            ls.solve_batch(ls.self, 2, rhs);
            dmax = 0;
            for (i = 0; i < n; ++i) dmax = fabs((double)(rhs[1][i] - ref[i])) > dmax ? fabs((double)(rhs[1][i] - ref[i])) : dmax;
            DOPT_CHECK(dmax <= DOPT_TEST_TOL(1e-12, 1e-4) * 10, "lane 1 of 2 equals slot 1 (%g)", dmax);
        }
        for (l = 0; l < W; ++l) { free(vals[l]); free(dadd[l]); free(rhs[l]); free(orig[l]); }
        free(ref);
        ls.destroy(ls.self);
        lpat_free(&L);
    }
}

/* Many right-hand sides at once (more than one chunk) equal one-at-a-time solves. */
static void DOPT_FN(test_multi_rhs)(void)
{
    enum { NR = 11 };
    dopt_rng rng;
    tpat p;
    int n, *Ap, *Ai, r, i;
    DOPT_REAL *Ax, *B, *X;
    double err = 0, sc = 0;
    dopt_sparse_symbolic *S = NULL;
    DOPT_FN(dopt_sparse_numeric) *F = NULL;
    dopt_rng_seed(&rng, 8, DOPT_IS_FLOAT);
    make_pattern(&p, PAT_GRID3, 6, &rng);
    n = p.n;
    DOPT_FN(make_spd)(&p, DOPT_LOWER, &rng, &Ap, &Ai, &Ax);
    dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, NULL, &S, NULL);
    DOPT_FN(dopt_sparse_numeric_create)(S, 1, &F);
    DOPT_CHECK(F && DOPT_FN(dopt_sparse_factor)(F, Ax, NULL) == DOPT_OK, "factor");
    if (!F) return;
    B = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)(n + 3) * NR);
    X = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)(n + 3) * NR);
    DOPT_FN(dopt_rng_fill_normal)(&rng, (n + 3) * NR, B, 0, 1);
    memcpy(X, B, sizeof(DOPT_REAL) * (size_t)(n + 3) * NR);
    DOPT_FN(dopt_sparse_solve)(F, NR, X, n + 3); /* ldb > n */
    for (r = 0; r < NR; ++r) {
        DOPT_FN(dopt_sparse_solve)(F, 1, B + (size_t)r * (n + 3), n);
        for (i = 0; i < n; ++i) {
            double d = fabs((double)(X[i + (size_t)r * (n + 3)] - B[i + (size_t)r * (n + 3)]));
            err = d > err ? d : err;
            sc = fabs((double)B[i + (size_t)r * (n + 3)]) > sc ? fabs((double)B[i + (size_t)r * (n + 3)]) : sc;
        }
        for (i = n; i < n + 3; ++i) err += X[i + (size_t)r * (n + 3)] != B[i + (size_t)r * (n + 3)];
    }
    DOPT_CHECK(err / sc < DOPT_TEST_TOL(1e-13, 1e-5), "multi-RHS vs single solves: %g", err / sc);
    DOPT_FN(dopt_sparse_numeric_destroy)(F);
    dopt_sparse_symbolic_destroy(S);
    free(Ap); free(Ai); free(Ax); free(B); free(X);
    tpat_free(&p);
}

/* A supernode wide enough for the recursive big-supernode factorization (dopt__sp_factor_rec,
 * DOPT__SP_BIG columns and up; 1000 columns also give its left-looking leaves products beyond
 * the register-tile size): a dense random diagonally dominant matrix, natural order, one
 * supernode.  Its factor matches dense Cholesky (dopt_potrf); a negative pivot in the first
 * leaf, a later leaf of the left half, the right half and the last column is reported at its
 * column, and with AMD at its ORIGINAL column. */
static void DOPT_FN(test_big_supernode)(void)
{
    const int n = dopt_test_quick() ? 800 : 1000, bad[4] = {5, 300, 611, (dopt_test_quick() ? 800 : 1000) - 1};
    int *Ap, *Ai, i, j, p = 0, t, fc;
    DOPT_REAL *Ax, *dense;
    double err = 0, mx = 0;
    dopt_rng rng;
    dopt_sparse_options o;
    dopt_sparse_symbolic *S = NULL;
    DOPT_FN(dopt_sparse_numeric) *F = NULL;
    dopt_errinfo info;
    dopt_status st;
    Ap = (int *)malloc(sizeof(int) * ((size_t)n + 1));
    Ai = (int *)malloc(sizeof(int) * (size_t)n * (n + 1) / 2);
    Ax = (DOPT_REAL *)malloc(sizeof(DOPT_REAL) * (size_t)n * (n + 1) / 2);
    dense = (DOPT_REAL *)calloc((size_t)n * n, sizeof(DOPT_REAL));
    dopt_rng_seed(&rng, 4242, DOPT_IS_FLOAT);
    for (j = 0; j < n; ++j) {
        Ap[j] = p;
        for (i = j; i < n; ++i, ++p) {
            Ai[p] = i;
            Ax[p] = i == j ? (DOPT_REAL)n : (DOPT_REAL)(2 * dopt_rng_uniform_d(&rng) - 1);
            dense[i + (size_t)j * n] = Ax[p];
        }
    }
    Ap[n] = p;
    memset(&o, 0, sizeof o);
    o.ordering = DOPT_SPARSE_ORDER_NATURAL;
    st = dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, &o, &S, &info);
    if (st == DOPT_OK) st = DOPT_FN(dopt_sparse_numeric_create)(S, 1, &F);
    DOPT_CHECK(st == DOPT_OK && S->nsuper == 1 && S->max_nscol >= DOPT__SP_BIG, "setup: one supernode of %d >= %d columns",
               S ? S->max_nscol : -1, DOPT__SP_BIG);
    if (st != DOPT_OK) goto out;
    DOPT_CHECK(DOPT_FN(dopt_sparse_factor)(F, Ax, &info) == DOPT_OK, "SPD factors");
    DOPT_CHECK(DOPT_FN(dopt_potrf)(n, dense, n, &fc) == DOPT_OK, "dense reference");
    for (j = 0; j < n; ++j)
        for (i = j; i < n; ++i) {
            double d = fabs((double)(F->x[i + (size_t)j * n] - dense[i + (size_t)j * n]));
            err = d > err ? d : err;
            mx = fabs((double)dense[i + (size_t)j * n]) > mx ? fabs((double)dense[i + (size_t)j * n]) : mx;
        }
    DOPT_CHECK(err / mx < DOPT_TEST_TOL(1e-12, 1e-5), "big supernode vs dense Cholesky: %g", err / mx);
    for (t = 0; t < 4; ++t) {
        const int pd = Ap[bad[t]];
        Ax[pd] = -1;
        st = DOPT_FN(dopt_sparse_factor)(F, Ax, &info);
        DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && F->fail_col[0] == bad[t] && info.index == bad[t],
                   "pivot %d reported (got %s, col %d)", bad[t], dopt_status_string(st), F->fail_col[0]);
        Ax[pd] = (DOPT_REAL)n;
    }
    DOPT_FN(dopt_sparse_numeric_destroy)(F);
    dopt_sparse_symbolic_destroy(S);
    F = NULL;
    S = NULL;
    o.ordering = DOPT_SPARSE_ORDER_AMD;
    st = dopt_sparse_analyze(NULL, n, Ap, Ai, DOPT_LOWER, &o, &S, &info);
    if (st == DOPT_OK) st = DOPT_FN(dopt_sparse_numeric_create)(S, 1, &F);
    DOPT_CHECK(st == DOPT_OK, "setup AMD");
    if (st != DOPT_OK) goto out;
    Ax[Ap[bad[2]]] = -1;
    st = DOPT_FN(dopt_sparse_factor)(F, Ax, &info);
    DOPT_CHECK(st == DOPT_ERR_NOT_POSITIVE_DEFINITE && F->fail_col[0] == bad[2] && info.index == bad[2],
               "AMD: pivot %d reported at its original column (got %s, col %d)", bad[2], dopt_status_string(st),
               F->fail_col[0]);
    Ax[Ap[bad[2]]] = (DOPT_REAL)n;
out:
    DOPT_FN(dopt_sparse_numeric_destroy)(F);
    dopt_sparse_symbolic_destroy(S);
    free(Ap); free(Ai); free(Ax); free(dense);
}
#endif
