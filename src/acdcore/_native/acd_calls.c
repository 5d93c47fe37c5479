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
    bucket_t *b = &core->b[c->i.ref];
    int update[MAXLVL];
    int x = -1;
    for (int l = b->level - 1; l >= 0; l--) {
        int nx;
        while ((nx = *lnk(core, b, x, l)) >= 0 && keycmp(core->c[nx].key, c->key) < 0)
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
        place(core, c->i.ref, -1);
    else if (update[0] == b->fwd[0])
        core->q[b->queue].hn[b->local] = slot; /* right after the head */
}

static void unlink_call(acd_core *core, int slot)
{
    call_t *c = &core->c[slot];
    bucket_t *b = &core->b[c->i.ref];
    if (b->fwd[0] == slot) {
        /* the head: first at each of its levels, after the bucket itself */
        for (int l = 0; l < c->level; l++)
            b->fwd[l] = *lnk(core, b, slot, l);
    } else {
        int x = -1;
        for (int l = b->level - 1; l >= 0; l--) {
            int nx;
            while ((nx = *lnk(core, b, x, l)) >= 0 && nx != slot &&
                   keycmp(core->c[nx].key, c->key) < 0)
                x = nx;
            if (l >= c->level)
                continue;
            /* past calls of an equal key (linked before it) to the call */
            int y = x;
            while ((nx = *lnk(core, b, y, l)) >= 0 && nx != slot)
                y = nx;
            int *prev = lnk(core, b, y, l);
            if (*prev == slot) {
                *prev = *lnk(core, b, slot, l);
                if (l == 0 && y == b->fwd[0]) /* it was right after the head */
                    core->q[b->queue].hn[b->local] = *prev;
            }
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
        int c1 = q->capbk, c2 = q->capbk, c3 = q->capbk, c4 = q->capbk;
        if (q->nbk >= MAXBK ||
            grow((void **)&core->b, &core->capb, core->nb + 1, sizeof(bucket_t)) ||
            grow((void **)&q->bk, &c1, q->nbk + 1, sizeof(int)) ||
            grow((void **)&q->hw, &c2, q->nbk + 1, sizeof(info_t)) ||
            grow((void **)&q->hk, &c3, q->nbk + 1, sizeof(hkey_t)) ||
            grow((void **)&q->hn, &c4, q->nbk + 1, sizeof(int)) || bmap_reserve(core))
            return ACD_ENOMEM;
        c1 = c1 < c2 ? c1 : c2;
        c3 = c3 < c4 ? c3 : c4;
        q->capbk = c1 < c3 ? c1 : c3;
        bi = core->nb++;
        bucket_t *b = &core->b[bi];
        memset(b, 0, sizeof *b);
        b->queue = queue;
        b->cls = cls;
        b->local = q->nbk;
        b->channel = core->cls[cls].channel;
        if (q->nbk < 64)
            q->chm[b->channel] |= 1ULL << q->nbk;
        memset(&q->hw[q->nbk], 0, sizeof(info_t));
        memset(&q->hk[q->nbk], 0, sizeof(hkey_t));
        q->hn[q->nbk] = -1;
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
 * was placed with (its hk[], refreshed only by place), then by its index
 * among buckets whose heads have equal keys. */
static int active_find(const queue_t *q, const bucket_t *b)
{
    const double *key = q->hk[b->local].v;
    int lo = 0, hi = q->nact;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (keycmp(q->hk[ACT_LOCAL(q->active[mid])].v, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo < q->nact && ACT_LOCAL(q->active[lo]) != b->local)
        lo++;
    if (lo == q->nact) /* not reached while the list is sorted; stay safe */
        for (lo = 0; lo < q->nact && ACT_LOCAL(q->active[lo]) != b->local; lo++)
            ;
    return lo;
}

/* Set the tie bit of active entry p: its head key equals the previous one's. */
static void set_tie(queue_t *q, int p)
{
    int e = q->active[p] & ~1;
    if (p > 0 && keycmp(q->hk[ACT_LOCAL(q->active[p - 1])].v, q->hk[ACT_LOCAL(e)].v) == 0)
        e |= 1;
    q->active[p] = e;
}

/* Take active entry pos out of the list. */
static void active_del(queue_t *q, int pos)
{
    memmove(&q->active[pos], &q->active[pos + 1], sizeof(int) * (size_t)(q->nact - pos - 1));
    q->nact--;
    if (pos < q->nact)
        set_tie(q, pos);
}

/* The first active entry in [lo, hi) whose head key is not below key. */
static int active_bound(const queue_t *q, int lo, int hi, const double *key)
{
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (keycmp(q->hk[ACT_LOCAL(q->active[mid])].v, key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Keep a queue's non-empty buckets sorted by the key of their head call, so
 * a search for the queue's first eligible call can stop at the first bucket
 * that starts after the best call found so far; and the bucket's summary
 * (hw, hk, hn) its head's. Called when a bucket's head changes; O(log b) key
 * comparisons (in the queue's hk[]) and a memmove of O(b) ints for b live
 * buckets in the queue (the search for its place is skipped when the caller
 * knows it: `where`, checked; else -1). The list is as if the bucket were taken out and put
 * back at the first place whose key is not below its new head's; when the
 * head was taken (its key grows) that is after its old place, and it moves
 * there in one step. */
void place(acd_core *core, int bi, int where)
{
    bucket_t *b = &core->b[bi];
    queue_t *q = &core->q[b->queue];
    const int local = b->local;
    int pos = -1;
    if (b->active) {
        if (where >= 0 && where < q->nact && ACT_LOCAL(q->active[where]) == local)
            pos = where; /* the caller knew */
        else
            pos = active_find(q, b);
        if (pos >= q->nact)
            pos = -1;
        b->active = 0;
    }
    if (b->count == 0) {
        if (pos >= 0)
            active_del(q, pos);
        return;
    }
    const call_t *c = &core->c[b->fwd[0]];
    int later = pos >= 0 && keycmp(c->key, q->hk[local].v) > 0;
    if (pos >= 0 && !later) {
        active_del(q, pos);
        pos = -1;
    }
    q->hw[local] = c->i;
    q->hw[local].ref = b->fwd[0];
    memcpy(q->hk[local].v, c->key, sizeof c->key);
    q->hn[local] = c->fwd[0];
    const double *key = q->hk[local].v;
    const int e = ACT_ENTRY(local, b->channel, 0);
    int at;
    if (later) {
        /* every entry before pos is at most the old key, below the new one */
        int lo = active_bound(q, pos + 1, q->nact, key);
        memmove(&q->active[pos], &q->active[pos + 1], sizeof(int) * (size_t)(lo - pos - 1));
        at = lo - 1;
        q->active[at] = e;
        if (pos < at)
            set_tie(q, pos);
    } else {
        at = active_bound(q, 0, q->nact, key);
        memmove(&q->active[at + 1], &q->active[at], sizeof(int) * (size_t)(q->nact - at));
        q->active[at] = e;
        q->nact++;
    }
    set_tie(q, at);
    if (at + 1 < q->nact)
        set_tie(q, at + 1);
    b->active = 1;
}

/* Take a waiting call out of its bucket (`where`: its bucket's place in the
 * active list when the caller knows it, else -1). */
void take_call(acd_core *core, int slot, int where)
{
    call_t *c = &core->c[slot];
    if (c->state != 2)
        return;
    int bi = c->i.ref;
    int was_head = core->b[bi].fwd[0] == slot;
    unlink_call(core, slot);
    core->q[core->b[bi].queue].nwaiting--;
    if (was_head)
        place(core, bi, where);
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
    c->i.ref = bi;
    c->tower = -1;
    c->i.seq = seq;
    c->i.entered = entered;
    c->i.preferred = preferred;
    c->i.preferred_until = preferred_until;
    memcpy(c->key, key, sizeof c->key);
    link_call(core, slot);
    core->q[queue].nwaiting++;
    core->ncalls++;
    return slot;
}

int acd_call_remove(acd_core *core, int slot)
{
    if (!core || slot < 0 || slot >= core->nc || core->c[slot].state == 0)
        return ACD_EINDEX;
    take_call(core, slot, -1);
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
    int queue = core->b[c->i.ref].queue;
    if (core->b[c->i.ref].cls == cls)
        return ACD_OK;
    int bi;
    if (bucket_for(core, queue, cls, &bi) || tower_reserve(core))
        return ACD_ENOMEM;
    take_call(core, slot, -1);
    c->i.ref = bi;
    link_call(core, slot);
    core->q[queue].nwaiting++;
    return ACD_OK;
}
