/* acdcore native backend: waiting calls. Slots, the per-(queue, class)
 * buckets (skip lists in policy-key order, towers for the higher links), the
 * (queue, class) -> bucket map and each queue's active list of buckets by
 * head key. See acd_native.c for the layout.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_internal.h"

static int random_level(acd_core *core)
{
    /* xorshift64: only shapes the skip lists, never a decision */
    int lvl = 1;
    unsigned long long x = core->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    core->rng = x;
    while (lvl < MAXLVL && (x & 3) == 0) {
        lvl++;
        x >>= 2;
    }
    return lvl;
}

/* Link l of a node of bucket b's skip list: the bucket's own head links for
 * node -1, else the call's (in itself below NFWD, in its tower above). */
static inline int *lnk(acd_core *core, bucket_t *b, int node, int l)
{
    if (node < 0)
        return &b->fwd[l];
    call_t *c = &core->c[node];
    return l < NFWD ? &c->fwd[l] : &core->tw[(size_t)c->tower * TOWER + (size_t)(l - NFWD)];
}

/* Make sure a free tower exists, so that linking a call cannot fail. */
static int tower_reserve(acd_core *core)
{
    if (core->twfree >= 0)
        return ACD_OK;
    if (core->ntw >= (1 << 26) ||
        grow((void **)&core->tw, &core->captw, (core->ntw + 1) * TOWER, sizeof(int)))
        return ACD_ENOMEM;
    int t = core->ntw++;
    core->tw[(size_t)t * TOWER] = -1;
    core->twfree = t;
    return ACD_OK;
}

static void link_call(acd_core *core, int slot)
{
    call_t *c = &core->c[slot];
    bucket_t *b = &core->b[c->h.bucket];
    int update[MAXLVL];
    int x = -1;
    for (int l = b->level - 1; l >= 0; l--) {
        int nx;
        while ((nx = *lnk(core, b, x, l)) >= 0 && keycmp(core->c[nx].h.key, c->h.key) < 0)
            x = nx;
        update[l] = x;
    }
    int lvl = random_level(core);
    if (lvl > b->level) {
        for (int l = b->level; l < lvl; l++)
            update[l] = -1;
        b->level = lvl;
    }
    c->level = (unsigned char)lvl;
    c->tower = -1;
    if (lvl > NFWD) { /* a free tower was reserved by the caller */
        c->tower = core->twfree;
        core->twfree = core->tw[(size_t)c->tower * TOWER];
    }
    for (int l = 0; l < lvl; l++) {
        int *prev = lnk(core, b, update[l], l);
        *lnk(core, b, slot, l) = *prev;
        *prev = slot;
    }
    b->count++;
    c->state = 2;
    if (b->fwd[0] == slot)
        place(core, c->h.bucket);
}

static void unlink_call(acd_core *core, int slot)
{
    call_t *c = &core->c[slot];
    bucket_t *b = &core->b[c->h.bucket];
    if (b->fwd[0] == slot) {
        /* the head: first at each of its levels, after the bucket itself */
        for (int l = 0; l < c->level; l++)
            b->fwd[l] = *lnk(core, b, slot, l);
    } else {
        int x = -1;
        for (int l = b->level - 1; l >= 0; l--) {
            int nx;
            while ((nx = *lnk(core, b, x, l)) >= 0 && nx != slot &&
                   keycmp(core->c[nx].h.key, c->h.key) < 0)
                x = nx;
            int *prev = lnk(core, b, x, l);
            if (l < c->level && *prev == slot)
                *prev = *lnk(core, b, slot, l);
        }
    }
    while (b->level > 0 && b->fwd[b->level - 1] < 0)
        b->level--;
    b->count--;
    c->state = 1;
    if (c->tower >= 0) {
        core->tw[(size_t)c->tower * TOWER] = core->twfree;
        core->twfree = c->tower;
        c->tower = -1;
    }
}

/* The (queue, class) -> bucket map: open addressing with linear probing, at
 * most half full; buckets are never removed. */
static unsigned bmap_slot(int queue, int cls, int cap)
{
    unsigned long long x = (unsigned long long)(unsigned)queue * 0x9E3779B97F4A7C15ULL ^
                           (unsigned long long)(unsigned)cls * 0xC2B2AE3D27D4EB4FULL;
    x ^= x >> 31;
    return (unsigned)x & (unsigned)(cap - 1);
}

static int bmap_find(const acd_core *core, int queue, int cls)
{
    if (!core->capbmap)
        return -1;
    for (unsigned i = bmap_slot(queue, cls, core->capbmap);; i = (i + 1) & (unsigned)(core->capbmap - 1)) {
        int bi = core->bmap[i];
        if (bi < 0 || (core->b[bi].queue == queue && core->b[bi].cls == cls))
            return bi;
    }
}

static void bmap_put(acd_core *core, int bi)
{
    unsigned i = bmap_slot(core->b[bi].queue, core->b[bi].cls, core->capbmap);
    while (core->bmap[i] >= 0)
        i = (i + 1) & (unsigned)(core->capbmap - 1);
    core->bmap[i] = bi;
}

/* Room in the map for one more bucket (rehashing into a larger table). */
static int bmap_reserve(acd_core *core)
{
    if ((long long)(core->nb + 1) * 2 <= core->capbmap)
        return ACD_OK;
    int ncap = core->capbmap ? core->capbmap * 2 : 16;
    if (ncap > (1 << 30))
        return ACD_ENOMEM;
    int *m = malloc(sizeof(int) * (size_t)ncap);
    if (!m)
        return ACD_ENOMEM;
    for (int i = 0; i < ncap; i++)
        m[i] = -1;
    free(core->bmap);
    core->bmap = m;
    core->capbmap = ncap;
    for (int bi = 0; bi < core->nb; bi++)
        bmap_put(core, bi);
    return ACD_OK;
}

static int bucket_for(acd_core *core, int queue, int cls, int *out)
{
    queue_t *q = &core->q[queue];
    int bi = bmap_find(core, queue, cls);
    if (bi < 0) {
        if (grow((void **)&core->b, &core->capb, core->nb + 1, sizeof(bucket_t)) ||
            grow((void **)&q->bk, &q->capbk, q->nbk + 1, sizeof(int)) || bmap_reserve(core))
            return ACD_ENOMEM;
        bi = core->nb++;
        bucket_t *b = &core->b[bi];
        memset(b, 0, sizeof *b);
        b->queue = queue;
        b->cls = cls;
        b->local = q->nbk;
        b->channel = core->cls[cls].channel;
        q->bk[q->nbk++] = bi;
        b->active = 0;
        for (int l = 0; l < MAXLVL; l++)
            b->fwd[l] = -1;
        bmap_put(core, bi);
    }
    /* room to activate it */
    if (grow((void **)&q->active, &q->capact, q->nact + 1, sizeof(int)))
        return ACD_ENOMEM;
    *out = bi;
    return ACD_OK;
}

/* Where bucket b is in its queue's active list: found by the head key it
 * was placed with (b->head, refreshed only by place), then by its index
 * among buckets whose heads have equal keys. */
static int active_find(const acd_core *core, const queue_t *q, const bucket_t *b)
{
    int lo = 0, hi = q->nact;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (keycmp(core->b[q->bk[q->active[mid]]].head.key, b->head.key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo < q->nact && q->active[lo] != b->local)
        lo++;
    if (lo == q->nact) /* not reached while the list is sorted; stay safe */
        for (lo = 0; lo < q->nact && q->active[lo] != b->local; lo++)
            ;
    return lo;
}

/* Keep a queue's non-empty buckets sorted by the key of their head call, so
 * a search for the queue's first eligible call can stop at the first bucket
 * that starts after the best call found so far. Called when a bucket's head
 * changes; O(log b) key comparisons and a memmove of O(b) ints for b live
 * buckets in the queue. */
void place(acd_core *core, int bi)
{
    bucket_t *b = &core->b[bi];
    queue_t *q = &core->q[b->queue];
    if (b->active) {
        int pos = active_find(core, q, b);
        if (pos < q->nact) {
            memmove(&q->active[pos], &q->active[pos + 1],
                    sizeof(int) * (size_t)(q->nact - pos - 1));
            q->nact--;
        }
        b->active = 0;
    }
    if (b->count > 0) {
        b->head = core->c[b->fwd[0]].h;
        int lo = 0, hi = q->nact;
        while (lo < hi) {
            int mid = lo + (hi - lo) / 2;
            if (keycmp(core->b[q->bk[q->active[mid]]].head.key, b->head.key) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(&q->active[lo + 1], &q->active[lo], sizeof(int) * (size_t)(q->nact - lo));
        q->active[lo] = b->local;
        q->nact++;
        b->active = 1;
    }
}

void take_call(acd_core *core, int slot)
{
    call_t *c = &core->c[slot];
    if (c->state != 2)
        return;
    int bi = c->h.bucket;
    int was_head = core->b[bi].fwd[0] == slot;
    unlink_call(core, slot);
    core->q[core->b[bi].queue].nwaiting--;
    if (was_head)
        place(core, bi);
}

int acd_call_put(acd_core *core, long long seq, int queue, int cls, const double *key,
                 double entered, int preferred, double preferred_until)
{
    if (!core || queue < 0 || queue >= core->nq || cls < 0 || cls >= core->ncls)
        return ACD_EINDEX;
    if (!key || isnan(entered) || isnan(preferred_until) || preferred < -1)
        return ACD_EARG;
    for (int i = 0; i < ACD_KEYLEN; i++)
        if (isnan(key[i]))
            return ACD_EARG;
    int bi;
    if (bucket_for(core, queue, cls, &bi) || tower_reserve(core))
        return ACD_ENOMEM;
    int slot;
    if (core->freehead >= 0) {
        slot = core->freehead;
        core->freehead = core->c[slot].fwd[0];
    } else {
        if (grow((void **)&core->c, &core->capc, core->nc + 1, sizeof(call_t)))
            return ACD_ENOMEM;
        slot = core->nc++;
    }
    call_t *c = &core->c[slot];
    c->h.bucket = bi;
    c->tower = -1;
    c->h.seq = seq;
    c->h.entered = entered;
    c->h.preferred = preferred;
    c->h.preferred_until = preferred_until;
    memcpy(c->h.key, key, sizeof c->h.key);
    link_call(core, slot);
    core->q[queue].nwaiting++;
    core->ncalls++;
    return slot;
}

int acd_call_remove(acd_core *core, int slot)
{
    if (!core || slot < 0 || slot >= core->nc || core->c[slot].state == 0)
        return ACD_EINDEX;
    take_call(core, slot);
    core->c[slot].state = 0;
    core->c[slot].fwd[0] = core->freehead;
    core->freehead = slot;
    core->ncalls--;
    return ACD_OK;
}

int acd_call_restage(acd_core *core, int slot, int cls)
{
    if (!core || slot < 0 || slot >= core->nc || core->c[slot].state != 2 || cls < 0 ||
        cls >= core->ncls)
        return ACD_EINDEX;
    call_t *c = &core->c[slot];
    int queue = core->b[c->h.bucket].queue;
    if (core->b[c->h.bucket].cls == cls)
        return ACD_OK;
    int bi;
    if (bucket_for(core, queue, cls, &bi) || tower_reserve(core))
        return ACD_ENOMEM;
    take_call(core, slot);
    c->h.bucket = bi;
    link_call(core, slot);
    core->q[queue].nwaiting++;
    return ACD_OK;
}
