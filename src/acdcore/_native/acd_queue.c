/* acdcore native backend: the order-statistic queue (see acd_queue.h).
 *
 * A treap: a binary search tree on the keys that is also a heap on random
 * node priorities, so its expected height is O(log n) whatever the order of
 * inserts. Each node counts the nodes of its subtree, which gives a key's rank
 * (and the node at a rank) in one descent. Nodes live in one growable array
 * and refer to each other by index (-1: none); removed nodes go on a free
 * list and their numbers are reused. The priorities come from a fixed-seed
 * xorshift, so the shape, though irrelevant to every answer, is reproducible.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_native.h"
#include "acd_queue.h"

#define OQ_MAX (1 << 28)

/* A node: 24 bytes. Its key is either the queue's own copy (keys[node],
 * 48 bytes more) or, for a queue made by acd_oq_new_shared, someone else's:
 * the key of item `ref` in the array *base. */
typedef struct {
    int left, right, size;
    unsigned prio;
    int used; /* 1 in the tree, 0 on the free list */
    int ref;  /* shared keys: the item whose key this is */
} oq_node;

struct acd_oq {
    oq_node *n;
    double (*keys)[ACD_KEYLEN]; /* own keys, by node (NULL when shared) */
    const void *const *base;    /* shared keys: *base is the items' array, */
    size_t stride, offset;      /* each stride bytes, its key at offset */
    int nn, capn; /* nodes ever allocated, array capacity (of n and keys) */
    int *freelist;
    int nfree, capfree;
    int root;
    int first; /* the node with the smallest key, -1 when empty */
    int count;
    unsigned long long rng;
};

static int oq_grow(void **arr, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return ACD_OK;
    int ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > OQ_MAX)
            return ACD_ENOMEM;
        ncap *= 2;
    }
    void *p = realloc(*arr, (size_t)ncap * size);
    if (!p)
        return ACD_ENOMEM;
    *arr = p;
    *cap = ncap;
    return ACD_OK;
}

static int oq_cmp(const double *x, const double *y)
{
    for (int i = 0; i < ACD_KEYLEN; i++) {
        if (x[i] < y[i])
            return -1;
        if (x[i] > y[i])
            return 1;
    }
    return 0;
}

static int key_ok(const double *key)
{
    if (!key)
        return 0;
    for (int i = 0; i < ACD_KEYLEN; i++)
        if (isnan(key[i]))
            return 0;
    return 1;
}

/* The key of node t, wherever it is held. */
static inline const double *KEY(const acd_oq *q, int t)
{
    if (!q->base)
        return q->keys[t];
    return (const double *)((const char *)*q->base + (size_t)q->n[t].ref * q->stride + q->offset);
}

static inline int sz(const acd_oq *q, int t) { return t < 0 ? 0 : q->n[t].size; }

static inline void fix(acd_oq *q, int t)
{
    q->n[t].size = 1 + sz(q, q->n[t].left) + sz(q, q->n[t].right);
}

static int handle_ok(const acd_oq *q, int h)
{
    return q && h >= 0 && h < q->nn && q->n[h].used;
}

acd_oq *acd_oq_new(void)
{
    acd_oq *q = calloc(1, sizeof(acd_oq));
    if (!q)
        return NULL;
    q->root = -1;
    q->first = -1;
    q->rng = 0x9e3779b97f4a7c15ULL;
    return q;
}

acd_oq *acd_oq_new_shared(const void *const *base, size_t stride, size_t offset)
{
    if (!base || stride < offset + sizeof(double[ACD_KEYLEN]))
        return NULL;
    acd_oq *q = acd_oq_new();
    if (!q)
        return NULL;
    q->base = base;
    q->stride = stride;
    q->offset = offset;
    return q;
}

void acd_oq_free(acd_oq *q)
{
    if (!q)
        return;
    free(q->n);
    free(q->keys);
    free(q->freelist);
    free(q);
}

static unsigned next_prio(acd_oq *q)
{
    unsigned long long x = q->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    q->rng = x;
    return (unsigned)(x >> 32);
}

/* Split subtree t into keys < key (*l) and keys > key (*r); key is not held. */
static void split(acd_oq *q, int t, const double *key, int *l, int *r)
{
    if (t < 0) {
        *l = *r = -1;
        return;
    }
    if (oq_cmp(KEY(q, t), key) < 0) {
        split(q, q->n[t].right, key, &q->n[t].right, r);
        *l = t;
    } else {
        split(q, q->n[t].left, key, l, &q->n[t].left);
        *r = t;
    }
    fix(q, t);
}

/* Join two treaps where every key of a sorts before every key of b. */
static int merge(acd_oq *q, int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    if (q->n[a].prio >= q->n[b].prio) {
        q->n[a].right = merge(q, q->n[a].right, b);
        fix(q, a);
        return a;
    }
    q->n[b].left = merge(q, a, q->n[b].left);
    fix(q, b);
    return b;
}

static int find(const acd_oq *q, const double *key)
{
    int t = q->root;
    while (t >= 0) {
        int c = oq_cmp(key, KEY(q, t));
        if (c == 0)
            return t;
        t = c < 0 ? q->n[t].left : q->n[t].right;
    }
    return -1;
}

/* Insert a node for key (the queue's own copy is made when it keeps its
 * own keys; else key is item ref's, already in place). */
static int insert_node(acd_oq *q, const double *key, int ref)
{
    if (!key_ok(key))
        return ACD_EARG;
    if (find(q, key) >= 0)
        return ACD_ESTATE;
    int h;
    if (q->nfree > 0) {
        h = q->freelist[--q->nfree];
    } else {
        if (q->nn >= OQ_MAX)
            return ACD_ENOMEM;
        /* the free list gets room for every node now, so remove never allocates */
        if (q->nn >= q->capn) {
            int cap = q->capn, kcap = q->capn;
            if (oq_grow((void **)&q->n, &cap, q->nn + 1, sizeof(oq_node)))
                return ACD_ENOMEM;
            if (!q->base && oq_grow((void **)&q->keys, &kcap, q->nn + 1, sizeof *q->keys))
                return ACD_ENOMEM; /* n is larger than capn says: harmless */
            q->capn = cap;
        }
        if (oq_grow((void **)&q->freelist, &q->capfree, q->nn + 1, sizeof(int)))
            return ACD_ENOMEM;
        h = q->nn++;
    }
    oq_node *x = &q->n[h];
    if (!q->base)
        memcpy(q->keys[h], key, sizeof q->keys[h]);
    x->ref = ref;
    x->left = x->right = -1;
    x->size = 1;
    x->prio = next_prio(q);
    x->used = 1;
    int l, r;
    split(q, q->root, key, &l, &r);
    q->root = merge(q, merge(q, l, h), r);
    q->count++;
    if (q->first < 0 || oq_cmp(key, KEY(q, q->first)) < 0)
        q->first = h;
    return h;
}

int acd_oq_insert(acd_oq *q, const double *key)
{
    if (!q || q->base)
        return ACD_EINDEX;
    return insert_node(q, key, -1);
}

int acd_oq_insert_shared(acd_oq *q, int ref)
{
    if (!q || !q->base || ref < 0)
        return ACD_EINDEX;
    return insert_node(q, (const double *)((const char *)*q->base + (size_t)ref * q->stride +
                                           q->offset),
                       ref);
}

/* Take the node holding key (present) out of subtree t; returns the new root. */
static int erase(acd_oq *q, int t, const double *key)
{
    int c = oq_cmp(key, KEY(q, t));
    if (c == 0)
        return merge(q, q->n[t].left, q->n[t].right);
    if (c < 0)
        q->n[t].left = erase(q, q->n[t].left, key);
    else
        q->n[t].right = erase(q, q->n[t].right, key);
    fix(q, t);
    return t;
}

int acd_oq_remove(acd_oq *q, int handle)
{
    if (!handle_ok(q, handle))
        return ACD_EINDEX;
    q->root = erase(q, q->root, KEY(q, handle));
    q->n[handle].used = 0;
    q->freelist[q->nfree++] = handle;
    q->count--;
    if (q->first == handle) {
        int t = q->root;
        while (t >= 0 && q->n[t].left >= 0)
            t = q->n[t].left;
        q->first = t;
    }
    return ACD_OK;
}

static int rank_of(const acd_oq *q, const double *key)
{
    int t = q->root, below = 0;
    while (t >= 0) {
        if (oq_cmp(KEY(q, t), key) < 0) {
            below += sz(q, q->n[t].left) + 1;
            t = q->n[t].right;
        } else {
            t = q->n[t].left;
        }
    }
    return below;
}

int acd_oq_rank(const acd_oq *q, const double *key)
{
    if (!q)
        return ACD_EINDEX;
    if (!key_ok(key))
        return ACD_EARG;
    return rank_of(q, key);
}

int acd_oq_index(const acd_oq *q, int handle)
{
    if (!handle_ok(q, handle))
        return ACD_EINDEX;
    return rank_of(q, KEY(q, handle));
}

int acd_oq_first(const acd_oq *q) { return q ? q->first : ACD_EINDEX; }

int acd_oq_len(const acd_oq *q) { return q ? q->count : ACD_EINDEX; }

int acd_oq_ref(const acd_oq *q, int handle)
{
    if (!handle_ok(q, handle) || !q->base)
        return ACD_EINDEX;
    return q->n[handle].ref;
}

int acd_oq_key(const acd_oq *q, int handle, double *out)
{
    if (!handle_ok(q, handle))
        return ACD_EINDEX;
    if (!out)
        return ACD_EARG;
    memcpy(out, KEY(q, handle), sizeof(double[ACD_KEYLEN]));
    return ACD_OK;
}

/* Append to out (up to want in all) the nodes of subtree t from in-order
 * place skip on. */
static void collect(const acd_oq *q, int t, int skip, int want, int *out, int *got)
{
    while (t >= 0 && *got < want) {
        int ls = sz(q, q->n[t].left);
        if (skip < ls)
            collect(q, q->n[t].left, skip, want, out, got);
        if (*got >= want)
            return;
        if (skip <= ls)
            out[(*got)++] = t;
        skip = skip > ls + 1 ? skip - ls - 1 : 0;
        t = q->n[t].right;
    }
}

int acd_oq_slice(const acd_oq *q, int start, int count, int *out)
{
    if (!q)
        return ACD_EINDEX;
    if (start < 0 || count < 0 || (count > 0 && !out))
        return ACD_EARG;
    int got = 0;
    if (start < q->count)
        collect(q, q->root, start, count, out, &got);
    return got;
}

/* Checks subtree t: keys strictly within (lo, hi) (NULL: unbounded), heap
 * order, sizes; returns its size, or -1 when broken. */
static int check_tree(const acd_oq *q, int t, const double *lo, const double *hi, int depth)
{
    if (t < 0)
        return 0;
    if (t >= q->nn || !q->n[t].used || depth > q->nn)
        return -1;
    const oq_node *x = &q->n[t];
    const double *key = KEY(q, t);
    if (!key_ok(key) || (lo && oq_cmp(lo, key) >= 0) || (hi && oq_cmp(key, hi) >= 0))
        return -1;
    if ((x->left >= 0 && q->n[x->left].prio > x->prio) ||
        (x->right >= 0 && q->n[x->right].prio > x->prio))
        return -1;
    int l = check_tree(q, x->left, lo, key, depth + 1);
    int r = check_tree(q, x->right, key, hi, depth + 1);
    if (l < 0 || r < 0 || x->size != l + r + 1)
        return -1;
    return x->size;
}

int acd_oq_check(const acd_oq *q)
{
    if (!q)
        return ACD_EINDEX;
    if (q->count < 0 || q->nfree < 0 || q->count + q->nfree != q->nn || q->nn > q->capn ||
        q->nn > q->capfree)
        return ACD_ESTATE;
    if (check_tree(q, q->root, NULL, NULL, 0) != q->count)
        return ACD_ESTATE;
    int used = 0;
    for (int i = 0; i < q->nn; i++)
        used += q->n[i].used != 0;
    if (used != q->count)
        return ACD_ESTATE;
    for (int i = 0; i < q->nfree; i++) {
        int h = q->freelist[i];
        if (h < 0 || h >= q->nn || q->n[h].used)
            return ACD_ESTATE;
    }
    int t = q->root;
    while (t >= 0 && q->n[t].left >= 0)
        t = q->n[t].left;
    return t == q->first ? ACD_OK : ACD_ESTATE;
}
