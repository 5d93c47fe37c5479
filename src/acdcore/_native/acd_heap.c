/* acdcore native backend: the deadline heap (see acd_heap.h).
 *
 * A binary min-heap in one growable array of entries, compared by
 * (when, seq). seq is unique, so no two entries compare equal and the pop
 * order is the same as Python's heapq over (when, seq, ...) tuples.
 */
#include <math.h>
#include <stdlib.h>

#include "acd_heap.h"
#include "acd_native.h"

#define HEAP_MAX (1 << 28)

struct acd_heap {
    acd_deadline *e;
    int n, cap;
    int64_t next_seq;
};

static inline int before(const acd_deadline *a, const acd_deadline *b)
{
    if (a->when < b->when)
        return 1;
    if (a->when > b->when)
        return 0;
    return a->seq < b->seq;
}

static void sift_up(acd_heap *h, int i)
{
    acd_deadline item = h->e[i];
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (!before(&item, &h->e[parent]))
            break;
        h->e[i] = h->e[parent];
        i = parent;
    }
    h->e[i] = item;
}

static void sift_down(acd_heap *h, int i)
{
    acd_deadline item = h->e[i];
    int n = h->n;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && before(&h->e[child + 1], &h->e[child]))
            child++;
        if (!before(&h->e[child], &item))
            break;
        h->e[i] = h->e[child];
        i = child;
    }
    h->e[i] = item;
}

/* Take the root into *out; the heap is not empty. */
static void take_root(acd_heap *h, acd_deadline *out)
{
    *out = h->e[0];
    h->n--;
    if (h->n > 0) {
        h->e[0] = h->e[h->n];
        sift_down(h, 0);
    }
}

acd_heap *acd_heap_new(void)
{
    return calloc(1, sizeof(acd_heap));
}

void acd_heap_free(acd_heap *h)
{
    if (!h)
        return;
    free(h->e);
    free(h);
}

int64_t acd_heap_push(acd_heap *h, double when, int kind, int64_t ref, int64_t token)
{
    if (!h || isnan(when))
        return ACD_EARG;
    if (h->next_seq == INT64_MAX)
        return ACD_ESTATE;
    if (h->n == h->cap) {
        if (h->cap >= HEAP_MAX)
            return ACD_ENOMEM;
        int ncap = h->cap ? h->cap * 2 : 64;
        acd_deadline *p = realloc(h->e, (size_t)ncap * sizeof(acd_deadline));
        if (!p)
            return ACD_ENOMEM;
        h->e = p;
        h->cap = ncap;
    }
    int64_t seq = h->next_seq++;
    acd_deadline *slot = &h->e[h->n];
    slot->when = when;
    slot->seq = seq;
    slot->kind = kind;
    slot->ref = ref;
    slot->token = token;
    sift_up(h, h->n++);
    return seq;
}

int acd_heap_peek(const acd_heap *h, acd_deadline *out)
{
    if (!h || !out)
        return ACD_EARG;
    if (h->n == 0)
        return 0;
    *out = h->e[0];
    return 1;
}

int acd_heap_pop(acd_heap *h, acd_deadline *out)
{
    if (!h || !out)
        return ACD_EARG;
    if (h->n == 0)
        return 0;
    take_root(h, out);
    return 1;
}

int acd_heap_pop_due(acd_heap *h, double now, acd_deadline *out, int max)
{
    if (!h || isnan(now) || max < 0 || (max > 0 && !out))
        return ACD_EARG;
    int k = 0;
    while (k < max && h->n > 0 && h->e[0].when <= now)
        take_root(h, &out[k++]);
    return k;
}

int acd_heap_len(const acd_heap *h)
{
    if (!h)
        return ACD_EARG;
    return h->n;
}

int acd_heap_entries(const acd_heap *h, acd_deadline *out, int max)
{
    if (!h || max < 0 || (max > 0 && !out))
        return ACD_EARG;
    for (int i = 0; i < h->n && i < max; i++)
        out[i] = h->e[i];
    return h->n;
}

int64_t acd_heap_next_seq(const acd_heap *h)
{
    if (!h)
        return ACD_EARG;
    return h->next_seq;
}

int acd_heap_set_next_seq(acd_heap *h, int64_t next)
{
    if (!h || next < 0)
        return ACD_EARG;
    for (int i = 0; i < h->n; i++)
        if (h->e[i].seq >= next)
            return ACD_ESTATE;
    h->next_seq = next;
    return ACD_OK;
}

int acd_heap_check(const acd_heap *h)
{
    if (!h)
        return ACD_EARG;
    if (h->n < 0 || h->n > h->cap || (h->cap > 0 && !h->e) || h->next_seq < 0)
        return ACD_ESTATE;
    for (int i = 0; i < h->n; i++) {
        const acd_deadline *x = &h->e[i];
        if (isnan(x->when) || x->seq < 0 || x->seq >= h->next_seq)
            return ACD_ESTATE;
        if (i > 0 && before(x, &h->e[(i - 1) / 2]))
            return ACD_ESTATE;
    }
    return ACD_OK;
}
