/* fail_alloc.h — a checking allocator for dopt's tests (allocation-failure injection).
 *
 * fa_hooks(&fa) gives dopt_hooks whose allocator
 *   - fails the allocation number fa.fail_at (1-based; 0: never fails), and every later one when
 *     fa.fail_all_after is set,
 *   - records every live block (pointer and size) in a table, so that
 *       fa.live       blocks not yet freed (a leak when > 0 after destroy),
 *       fa.bad_size   frees or reallocs told another size than the block has,
 *       fa.bad_ptr    frees of a pointer it never gave out,
 *       fa.peak_bytes the most bytes live at once,
 *       fa.largest    the largest single request,
 *   - counts allocations (fa.calls) so a loop can run an entry point once to count them, then
 *     fail each one in turn.
 * Header-only, no globals (the state is the caller's fail_alloc). */
#ifndef DOPT_FAIL_ALLOC_H
#define DOPT_FAIL_ALLOC_H
#include <stdlib.h>
#include <string.h>
#include "dopt.h"

#define FA_MAX 4096

typedef struct fail_alloc {
    long calls, fail_at;
    int fail_all_after;
    long live, bad_size, bad_ptr, overflow;
    size_t bytes, peak_bytes;   /* live bytes now, and their largest value */
    size_t largest;             /* the largest single request */
    void *ptr[FA_MAX];
    size_t size[FA_MAX];
} fail_alloc;

static int fa_find(const fail_alloc *fa, const void *p)
{
    int k;
    for (k = 0; k < FA_MAX; ++k)
        if (fa->ptr[k] == p) return k;
    return -1;
}

static int fa_should_fail(fail_alloc *fa, size_t size)
{
    fa->calls++;
    if (size > fa->largest) fa->largest = size;
    if (fa->fail_at <= 0) return 0;
    return fa->calls == fa->fail_at || (fa->fail_all_after && fa->calls > fa->fail_at);
}

static void fa_record(fail_alloc *fa, void *p, size_t size)
{
    int k = fa_find(fa, NULL);
    if (k < 0) { fa->overflow++; return; }
    fa->ptr[k] = p;
    fa->size[k] = size;
    fa->live++;
    fa->bytes += size;
    if (fa->bytes > fa->peak_bytes) fa->peak_bytes = fa->bytes;
}

static void *fa_alloc(void *user, size_t size)
{
    fail_alloc *fa = (fail_alloc *)user;
    void *p;
    if (fa_should_fail(fa, size)) return NULL;
    p = malloc(size ? size : 1);
    if (p) fa_record(fa, p, size);
    return p;
}

static void fa_forget(fail_alloc *fa, void *p, size_t size)
{
    int k = fa_find(fa, p);
    if (k < 0) { fa->bad_ptr++; return; }
    if (fa->size[k] != size) fa->bad_size++;
    fa->bytes -= fa->size[k];
    fa->ptr[k] = NULL;
    fa->live--;
}

static void *fa_realloc(void *user, void *p, size_t old_size, size_t new_size)
{
    fail_alloc *fa = (fail_alloc *)user;
    void *q;
    if (!p) return fa_alloc(user, new_size);
    if (fa_should_fail(fa, new_size)) return NULL; /* the old block stays valid */
    q = malloc(new_size ? new_size : 1);
    if (!q) return NULL;
    memcpy(q, p, old_size < new_size ? old_size : new_size);
    fa_forget(fa, p, old_size);
    free(p);
    fa_record(fa, q, new_size);
    return q;
}

static void fa_free(void *user, void *p, size_t size)
{
    fail_alloc *fa = (fail_alloc *)user;
    if (!p) return;
    fa_forget(fa, p, size);
    free(p);
}

/* a fresh state that fails allocation number fail_at (0: none) */
static void fa_reset(fail_alloc *fa, long fail_at)
{
    memset(fa, 0, sizeof *fa);
    fa->fail_at = fail_at;
}

static dopt_hooks fa_hooks(fail_alloc *fa)
{
    dopt_hooks h;
    memset(&h, 0, sizeof h);
    h.allocator.alloc = fa_alloc;
    h.allocator.realloc = fa_realloc;
    h.allocator.free = fa_free;
    h.allocator.user = fa;
    return h;
}

/* everything given back with the right sizes */
static int fa_clean(const fail_alloc *fa)
{
    return fa->live == 0 && fa->bad_size == 0 && fa->bad_ptr == 0 && fa->overflow == 0;
}
#endif
