/* dopt_test.h — the tiny test harness of dopt's own tests (no framework needed).
 *
 * A test file is one program: it includes the dopt headers (with DOPT_IMPLEMENTATION), this file,
 * defines test functions and ends with
 *     DOPT_TEST_MAIN(suite_function)
 * where suite_function calls DOPT_TEST_RUN(test_fn) for each test.  Checks:
 *     DOPT_CHECK(cond, "printf format", ...)   record one check; print the message on failure
 *     DOPT_CHECK_CLOSE(a, b, tol, what)        |a-b| <= tol * max(1, |a|, |b|)
 *     DOPT_SKIP("reason")                      mark the current test skipped and return
 * A test passes when all its checks pass.  The program prints one line per failed or skipped test
 * and ends with `N passed, N failed, N skipped`; it exits 1 if anything failed.
 *
 * Precision-generic tests use the library's driver under its public name (dopt.h, FLOAT AND
 * DOUBLE): define a pass macro and DOPT_GENERIC "tests/<file>.c", include "dopt.h", and write
 * the tests in the pass block with DOPT_REAL / DOPT_FN; DOPT_TEST_TOL(double_tol, float_tol)
 * picks the tolerance.
 * Files: dopt_test_temp_path("name.ext") gives a temp file name unique to the process (the test
 * configurations run in parallel); dopt_test_write_text(path, text) writes a small file;
 * dopt_test_read_text(path) reads a whole one (reference files).
 * Allocation counting and failure injection: tests/fail_alloc.h.
 * Environment: DOPT_DATA_DIR points at shared/data (default ../shared/data); DOPT_TEST_QUICK=1
 * asks tests to shrink their sizes (sanitizer runs). */
#ifndef DOPT_TEST_H
#define DOPT_TEST_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

#if defined(__GNUC__) || defined(__clang__)
#define DOPT_TEST_UNUSED __attribute__((unused))
#else
#define DOPT_TEST_UNUSED
#endif

/* dopt_test_temp_path: "$TMPDIR (or /tmp)/dopt_test_<hex>_<name>", <hex> unique to this process;
 * four rotating buffers, so up to four names are valid at once. */
static DOPT_TEST_UNUSED const char *dopt_test_temp_path(const char *name)
{
    static char buf[4][512];
    static int next = 0;
    const char *dir = getenv("TMPDIR");
    char *p = buf[next++ & 3];
    int local;
    snprintf(p, 512, "%s/dopt_test_%lx_%s", dir && *dir ? dir : "/tmp",
             (unsigned long)((size_t)&local >> 4) ^ (unsigned long)time(NULL), name);
    return p;
}

/* dopt_test_write_text: write text to path; 1 on success, 0 when the file cannot be written. */
static DOPT_TEST_UNUSED int dopt_test_write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

/* dopt_test_read_text: the whole file, NUL-terminated, in a malloc'd buffer (free it); NULL when
 * the file cannot be read. */
static DOPT_TEST_UNUSED char *dopt_test_read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    long len;
    char *s = NULL;
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        s = (char *)malloc((size_t)len + 1);
        if (s && fread(s, 1, (size_t)len, f) != (size_t)len) {
            free(s);
            s = NULL;
        }
        if (s) s[len] = 0;
    }
    fclose(f);
    return s;
}

typedef struct dopt_test_state {
    int passed, failed, skipped;
    int cur_failed, cur_skipped, cur_checks;
    const char *cur_name;
} dopt_test_state;

static dopt_test_state dopt_test_g; /* test programs only: the library itself has no globals */

#define DOPT_CHECK(cond, ...)                                                                    \
    do {                                                                                         \
        dopt_test_g.cur_checks++;                                                                \
        if (!(cond)) {                                                                           \
            if (dopt_test_g.cur_failed < 5) {                                                    \
                printf("  FAIL %s (%s:%d): ", dopt_test_g.cur_name, __FILE__, __LINE__);         \
                printf(__VA_ARGS__);                                                             \
                printf("\n");                                                                    \
            }                                                                                    \
            dopt_test_g.cur_failed++;                                                            \
        }                                                                                        \
    } while (0)

#define DOPT_CHECK_CLOSE(a, b, tol, what)                                                        \
    do {                                                                                         \
        double a_ = (double)(a), b_ = (double)(b), s_ = fabs(a_) > fabs(b_) ? fabs(a_) : fabs(b_); \
        if (s_ < 1) s_ = 1;                                                                      \
        DOPT_CHECK(fabs(a_ - b_) <= (tol) * s_, "%s: %.17g vs %.17g (tol %g)", what, a_, b_,     \
                   (double)(tol));                                                               \
    } while (0)

#define DOPT_SKIP(reason)                                                                        \
    do {                                                                                         \
        printf("  SKIP %s: %s\n", dopt_test_g.cur_name, reason);                                 \
        dopt_test_g.cur_skipped = 1;                                                             \
        return;                                                                                  \
    } while (0)

#define DOPT_TEST_TOL(dtol, ftol) (DOPT_IS_FLOAT ? (double)(ftol) : (double)(dtol))

static void dopt_test_run(void (*fn)(void), const char *name)
{
    dopt_test_g.cur_failed = 0;
    dopt_test_g.cur_skipped = 0;
    dopt_test_g.cur_checks = 0;
    dopt_test_g.cur_name = name;
    fn();
    if (dopt_test_g.cur_failed) {
        printf("  failed: %s (%d of %d checks)\n", name, dopt_test_g.cur_failed, dopt_test_g.cur_checks);
        dopt_test_g.failed++;
    } else if (dopt_test_g.cur_skipped) {
        dopt_test_g.skipped++;
    } else if (dopt_test_g.cur_checks == 0) {
        printf("  FAIL %s: made no checks (a test that cannot fail is a defect)\n", name);
        dopt_test_g.failed++;
    } else {
        dopt_test_g.passed++;
    }
}
#define DOPT_TEST_RUN(fn) dopt_test_run(fn, #fn)

#if defined(__GNUC__) || defined(__clang__)
#define DOPT_TEST_UNUSED __attribute__((unused))
#else
#define DOPT_TEST_UNUSED
#endif
static DOPT_TEST_UNUSED const char *dopt_test_data_dir(void)
{
    const char *d = getenv("DOPT_DATA_DIR");
    return d && *d ? d : "../shared/data";
}
static DOPT_TEST_UNUSED int dopt_test_quick(void)
{
    const char *q = getenv("DOPT_TEST_QUICK");
    return q && *q && *q != '0';
}

#define DOPT_TEST_MAIN(suite)                                                                    \
    int main(void)                                                                               \
    {                                                                                            \
        suite();                                                                                 \
        printf("%d passed, %d failed, %d skipped\n", dopt_test_g.passed, dopt_test_g.failed,     \
               dopt_test_g.skipped);                                                             \
        return dopt_test_g.failed ? 1 : 0;                                                       \
    }
#endif
