/* acdcore native backend: see acd_native.h for what lives here and why.
 *
 * Data layout
 * -----------
 * Agents, calls, queues, classes and buckets live in growable arrays and
 * refer to each other by int index, so a realloc never leaves a dangling
 * pointer. A *class* is what makes calls interchangeable for eligibility:
 * skill requirement, channel, region constraint and the extra queues added
 * by a relaxation step. A *bucket* holds the waiting calls of one class in
 * one queue as a skip list in policy-key order, so an agent looking for work
 * tests each class once (not each call) and then reads the bucket's head.
 * Each queue keeps its non-empty buckets sorted by their head's key (the
 * active list), and each bucket a copy of its head's search fields. Each
 * agent keeps, per queue it scans, a bit per bucket of that queue: is the
 * bucket's class open to it (membership, region, skills). The bits are set
 * when the profile is set and when a search first meets a newer bucket, so
 * stepping over a class the agent cannot serve costs a bit test.
 *
 * Memory per waiting call: a 96-byte slot (search fields, bucket, two skip
 * list links, state and level); one call in 16 also holds a 56-byte tower of
 * the higher links. Free slots and free towers are chained through
 * themselves. (queue, class) -> bucket is a hash map, O(buckets).
 *
 * Complexity: put/remove of a call O(log n) expected; route_call O(f) for f
 * free agents of the call's pool; route_agent O(sum over served queues of the
 * live classes) per decision when no delay or reservation holds calls back,
 * plus the calls it has to step over when one does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_native.h"

#define MAXLVL 16
#define NFWD 2                /* skip-list levels a call keeps in itself */
#define TOWER (MAXLVL - NFWD) /* links of a tower: the levels above NFWD */

enum {
    S_LONGEST_IDLE = 0,
    S_FEWEST_CALLS,
    S_LEAST_TALK_TIME,
    S_ROUND_ROBIN,
    S_LINEAR,
    S_MOST_SKILLED,
    S_RANDOM,
    S_WEIGHTED_RANDOM,
    S_RING_ALL,
    S_COUNT
};

typedef struct {
    int nreq;
    int *skill;
    int *minimum;
    int channel;
    int region; /* -1: any region */
    int nextra;
    int *extra;
} cls_t;

/* What a search reads of a waiting call: its bucket keeps a copy of its head
 * call's, so that looking at a bucket's head needs no visit to the call. */
typedef struct {
    double key[ACD_KEYLEN];
    double entered;
    double preferred_until;
    long long seq;
    int preferred; /* agent index or -1 */
    int bucket;    /* the call's bucket (fills what would be padding) */
} hot_t;

typedef struct {
    hot_t head;  /* the head call's, while count > 0 (kept by place) */
    int channel; /* its class's channel */
    int fwd[MAXLVL];
    int queue;
    int cls;
    int local; /* index among its queue's buckets (q->bk), in creation order */
    int level;
    int count;
    int active; /* 1 while in the queue's active list (count > 0) */
} bucket_t;

/* A waiting call: 96 bytes. Its queue and class are its bucket's. Its skip
 * list links at levels 1..NFWD are here; a call drawn higher (1 in 16 with
 * NFWD 2) also holds a tower, TOWER links in core->tw. A free slot links to
 * the next free one through fwd[0]. */
typedef struct {
    hot_t h;
    int tower; /* index of its tower, or -1 */
    int fwd[NFWD];
    unsigned char state; /* 0 free slot, 1 allocated not linked, 2 linked in its bucket */
    unsigned char level;
} call_t;

/* A membership's priority and delay, what a search reads of it. */
typedef struct {
    double priority;
    double delay;
} pd_t;

typedef struct {
    int queue;
    int freepos; /* index in the queue's free list, -1 when not there */
    pd_t pd;
    double position;
    long long weight;
} mem_t;

/* One queue an agent looks for work in. `ok` caches, per bucket of that queue
 * (by its local index), whether the bucket's class is open to the agent apart
 * from its channel being free: a membership through which it may take those
 * calls, region and skills. It depends only on the agent's profile and the
 * class, which never change while the profile holds, so it is computed once
 * per bucket (for the buckets that exist when the profile is set, and for
 * later ones when a search first meets them) and dropped with the profile. */
typedef struct {
    int queue;
    int mem; /* index in mem[], or -1 for a queue borrowing this agent's queues */
    pd_t pd; /* a copy of mem[mem].pd (read with the scan list: one array) */
    int nv;  /* buckets 0..nv-1 of the queue have their verdict: bit l of */
    unsigned long long ok0;   /* buckets 0..63 (inline: no pointer to chase) */
    unsigned long long *more; /* buckets 64.., (nv - 1) / 64 words; NULL below 65 */
} scan_t;

static inline unsigned long long *scan_word(scan_t *sc, int local)
{
    return local < 64 ? &sc->ok0 : &sc->more[(local >> 6) - 1];
}

typedef struct {
    int known;
    int order;
    int region;
    int avail;
    int offerable;
    int guarded;
    unsigned stamp;
    double idle_since;
    double calls_taken;
    double talk_time;
    int nsk;
    unsigned char *sk;
    int cap[ACD_NCH];
    unsigned excl;
    int nsess, capsess;
    long long *sess_seq;
    int *sess_ch;
    int nmem;
    mem_t *mem;
    int nscan;
    scan_t *scan;
} agent_t;

typedef struct {
    int strategy;
    int nfree, capfree;
    int *free_agent;
    int *free_mem;
    int nact, capact;
    int *active; /* local indices of the non-empty buckets, by head call */
    int nbk, capbk;
    int *bk; /* local index -> bucket id */
    int nwaiting;
} queue_t;

struct acd_core {
    int nq;
    queue_t *q;
    int na, capa;
    agent_t *a;
    int nc, capc;
    call_t *c;
    int freehead; /* first free call slot, -1 when none */
    int ntw, captw; /* towers made; captw counts ints */
    int *tw;
    int twfree; /* first free tower, -1 when none (linked through its link 0) */
    int nb, capb;
    bucket_t *b;
    int capbmap;
    int *bmap; /* (queue, class) -> bucket id: open addressing, -1 empty */
    int ncls, capcls;
    cls_t *cls;
    unsigned stamp;
    unsigned long long rng;
    int ncalls; /* allocated call slots */
    int *scratch_mem; /* per route_call candidate: membership index */
    int capscratch;
};

int acd_abi_version(void) { return ACD_NATIVE_ABI; }

static void place(acd_core *core, int bi);

/* ------------------------------------------------------------------ helpers */

static int grow(void **arr, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return ACD_OK;
    int ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > (1 << 29))
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

static int keycmp(const double *x, const double *y)
{
    for (int i = 0; i < ACD_KEYLEN; i++) {
        if (x[i] < y[i])
            return -1;
        if (x[i] > y[i])
            return 1;
    }
    return 0;
}

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

static inline int level_of(const agent_t *a, int skill)
{
    return skill < a->nsk ? a->sk[skill] : 0;
}

static int channel_free(const agent_t *a, int ch)
{
    if (a->cap[ch] <= 0)
        return 0;
    int used = 0;
    unsigned mine = 1u << ch;
    for (int i = 0; i < a->nsess; i++) {
        int s = a->sess_ch[i];
        if (s == ch)
            used++;
        else if ((a->excl & (1u << s)) || (a->excl & mine))
            return 0;
    }
    return used < a->cap[ch];
}

static unsigned free_mask(const agent_t *a)
{
    unsigned m = 0;
    for (int ch = 0; ch < ACD_NCH; ch++)
        if (channel_free(a, ch))
            m |= 1u << ch;
    return m;
}

static int find_mem(const agent_t *a, int queue)
{
    for (int i = 0; i < a->nmem; i++)
        if (a->mem[i].queue == queue)
            return i;
    return -1;
}

/* The membership through which an agent may serve a call of (queue, class):
 * the call's own queue first, then the class's extra queues in order. */
static int membership_for(const agent_t *a, int queue, const cls_t *cl)
{
    int m = find_mem(a, queue);
    for (int i = 0; m < 0 && i < cl->nextra; i++)
        m = find_mem(a, cl->extra[i]);
    return m;
}

static int class_ok(const agent_t *a, const cls_t *cl)
{
    if (cl->region >= 0 && a->region != cl->region)
        return 0;
    for (int i = 0; i < cl->nreq; i++)
        if (level_of(a, cl->skill[i]) < cl->minimum[i])
            return 0;
    return 1;
}

static int in_session(const agent_t *a, long long seq)
{
    for (int i = 0; i < a->nsess; i++)
        if (a->sess_seq[i] == seq)
            return 1;
    return 0;
}

/* Is bucket b open to the agent through scan entry sc, its channel aside? */
static int scan_open(const acd_core *core, const agent_t *a, const scan_t *sc, const bucket_t *b)
{
    const cls_t *cl = &core->cls[b->cls];
    if (sc->mem < 0 && membership_for(a, sc->queue, cl) < 0)
        return 0;
    return class_ok(a, cl);
}

/* Bring sc's verdicts up to every bucket of its queue. Allocates first, so a
 * failure leaves the cache as it was (only shorter than the queue). */
static int scan_extend(const acd_core *core, const agent_t *a, scan_t *sc)
{
    const queue_t *q = &core->q[sc->queue];
    if (sc->nv >= q->nbk)
        return ACD_OK;
    size_t extra = ((size_t)q->nbk + 63) / 64 - 1; /* words beyond ok0 */
    if (extra > 0 && extra > (sc->nv > 0 ? ((size_t)sc->nv + 63) / 64 - 1 : 0)) {
        void *p = realloc(sc->more, extra * sizeof *sc->more);
        if (!p)
            return ACD_ENOMEM;
        sc->more = p;
    }
    for (int l = sc->nv; l < q->nbk; l++) {
        unsigned long long bit = 1ULL << (l & 63);
        unsigned long long *w = scan_word(sc, l);
        if (scan_open(core, a, sc, &core->b[q->bk[l]]))
            *w |= bit;
        else
            *w &= ~bit;
    }
    sc->nv = q->nbk;
    return ACD_OK;
}

/* The cached verdict of the queue's bucket `local` for the agent; computed
 * directly when the cache cannot grow. */
static inline int scan_ok(const acd_core *core, const agent_t *a, scan_t *sc, int local)
{
    if (local >= sc->nv && scan_extend(core, a, sc) != ACD_OK)
        return scan_open(core, a, sc, &core->b[core->q[sc->queue].bk[local]]);
    return (int)((*scan_word(sc, local) >> (local & 63)) & 1);
}

/* When the call opens to the agent, given its class is met: now, or later by
 * the membership delay or another agent's reservation. */
static double opens(const hot_t *c, const pd_t *m, int agent, double now)
{
    double at = now;
    if (m->delay > 0) {
        double o = c->entered + m->delay;
        if (o > at)
            at = o;
    }
    if (c->preferred >= 0 && c->preferred != agent && c->preferred_until > at)
        at = c->preferred_until;
    return at;
}

/* ------------------------------------------------------------ free lists */

static int free_add(acd_core *core, int ai, int mi)
{
    agent_t *a = &core->a[ai];
    mem_t *m = &a->mem[mi];
    queue_t *q = &core->q[m->queue];
    if (m->freepos >= 0)
        return ACD_OK;
    if (q->nfree == q->capfree) {
        int cap1 = q->capfree, cap2 = q->capfree;
        if (grow((void **)&q->free_agent, &cap1, q->nfree + 1, sizeof(int)) ||
            grow((void **)&q->free_mem, &cap2, q->nfree + 1, sizeof(int)))
            return ACD_ENOMEM;
        q->capfree = cap1 < cap2 ? cap1 : cap2;
    }
    q->free_agent[q->nfree] = ai;
    q->free_mem[q->nfree] = mi;
    m->freepos = q->nfree++;
    return ACD_OK;
}

static void free_del(acd_core *core, int ai, int mi)
{
    mem_t *m = &core->a[ai].mem[mi];
    if (m->freepos < 0)
        return;
    queue_t *q = &core->q[m->queue];
    int pos = m->freepos, last = --q->nfree;
    if (pos != last) {
        int oa = q->free_agent[last], om = q->free_mem[last];
        q->free_agent[pos] = oa;
        q->free_mem[pos] = om;
        core->a[oa].mem[om].freepos = pos;
    }
    m->freepos = -1;
}

/* Make room for the agent in each of its queues' free lists. */
static int reserve_free(acd_core *core, int ai)
{
    agent_t *a = &core->a[ai];
    for (int i = 0; i < a->nmem; i++) {
        queue_t *q = &core->q[a->mem[i].queue];
        int cap1 = q->capfree, cap2 = q->capfree;
        if (grow((void **)&q->free_agent, &cap1, q->nfree + 1, sizeof(int)) ||
            grow((void **)&q->free_mem, &cap2, q->nfree + 1, sizeof(int)))
            return ACD_ENOMEM;
        q->capfree = cap1 < cap2 ? cap1 : cap2;
    }
    return ACD_OK;
}

/* Put the agent in, or take it out of, its queues' free lists. */
static int set_offerable(acd_core *core, int ai, int on)
{
    agent_t *a = &core->a[ai];
    if (on == a->offerable)
        return ACD_OK;
    if (on) {
        /* reserve first so a failed allocation changes nothing */
        if (reserve_free(core, ai))
            return ACD_ENOMEM;
        for (int i = 0; i < a->nmem; i++)
            free_add(core, ai, i);
    } else {
        for (int i = 0; i < a->nmem; i++)
            free_del(core, ai, i);
    }
    a->offerable = on;
    return ACD_OK;
}

/* ------------------------------------------------------------ skip lists */

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
static void place(acd_core *core, int bi)
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

static void take_call(acd_core *core, int slot)
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

/* ------------------------------------------------------------- lifecycle */

acd_core *acd_new(int nqueues)
{
    if (nqueues < 0 || nqueues > (1 << 24))
        return NULL;
    acd_core *core = calloc(1, sizeof *core);
    if (!core)
        return NULL;
    core->q = calloc(nqueues ? (size_t)nqueues : 1, sizeof(queue_t));
    if (!core->q) {
        free(core);
        return NULL;
    }
    core->nq = nqueues;
    core->rng = 0x9E3779B97F4A7C15ULL;
    core->freehead = -1;
    core->twfree = -1;
    return core;
}

void acd_free(acd_core *core)
{
    if (!core)
        return;
    for (int i = 0; i < core->nq; i++) {
        free(core->q[i].free_agent);
        free(core->q[i].free_mem);
        free(core->q[i].active);
        free(core->q[i].bk);
    }
    for (int i = 0; i < core->na; i++) {
        agent_t *a = &core->a[i];
        free(a->sk);
        free(a->sess_seq);
        free(a->sess_ch);
        free(a->mem);
        for (int s = 0; s < a->nscan; s++)
            free(a->scan[s].more);
        free(a->scan);
    }
    for (int i = 0; i < core->ncls; i++) {
        free(core->cls[i].skill);
        free(core->cls[i].minimum);
        free(core->cls[i].extra);
    }
    free(core->q);
    free(core->a);
    free(core->c);
    free(core->tw);
    free(core->b);
    free(core->bmap);
    free(core->cls);
    free(core->scratch_mem);
    free(core);
}

int acd_queue_set(acd_core *core, int queue, int strategy)
{
    if (!core || queue < 0 || queue >= core->nq)
        return ACD_EINDEX;
    if (strategy < 0 || strategy >= S_COUNT)
        return ACD_EARG;
    core->q[queue].strategy = strategy;
    return ACD_OK;
}

int acd_class_add(acd_core *core, int nreq, const int *skill, const int *minimum, int channel,
                  int region, int nextra, const int *extra)
{
    if (!core)
        return ACD_EINDEX;
    if (nreq < 0 || nreq > 1024 || nextra < 0 || nextra > (1 << 20))
        return ACD_EARG;
    if ((nreq && (!skill || !minimum)) || (nextra && !extra))
        return ACD_EARG;
    if (channel < 0 || channel >= ACD_NCH || region < -1)
        return ACD_EARG;
    for (int i = 0; i < nreq; i++)
        if (skill[i] < 0 || minimum[i] < 0 || minimum[i] > 255)
            return ACD_EARG;
    for (int i = 0; i < nextra; i++)
        if (extra[i] < 0 || extra[i] >= core->nq)
            return ACD_EINDEX;
    if (grow((void **)&core->cls, &core->capcls, core->ncls + 1, sizeof(cls_t)))
        return ACD_ENOMEM;
    cls_t cl;
    memset(&cl, 0, sizeof cl);
    cl.skill = malloc(sizeof(int) * (size_t)(nreq ? nreq : 1));
    cl.minimum = malloc(sizeof(int) * (size_t)(nreq ? nreq : 1));
    cl.extra = malloc(sizeof(int) * (size_t)(nextra ? nextra : 1));
    if (!cl.skill || !cl.minimum || !cl.extra) {
        free(cl.skill);
        free(cl.minimum);
        free(cl.extra);
        return ACD_ENOMEM;
    }
    if (nreq) {
        memcpy(cl.skill, skill, sizeof(int) * (size_t)nreq);
        memcpy(cl.minimum, minimum, sizeof(int) * (size_t)nreq);
    }
    if (nextra)
        memcpy(cl.extra, extra, sizeof(int) * (size_t)nextra);
    cl.nreq = nreq;
    cl.nextra = nextra;
    cl.channel = channel;
    cl.region = region;
    core->cls[core->ncls] = cl;
    return core->ncls++;
}

static int ensure_agent(acd_core *core, int ai)
{
    if (ai < core->na)
        return ACD_OK;
    if (grow((void **)&core->a, &core->capa, ai + 1, sizeof(agent_t)))
        return ACD_ENOMEM;
    memset(&core->a[core->na], 0, sizeof(agent_t) * (size_t)(ai + 1 - core->na));
    core->na = ai + 1;
    return ACD_OK;
}

int acd_agent_profile(acd_core *core, int agent, int order, int region, int nsk,
                      const int *skill, const int *level, const int *cap, unsigned excl,
                      int nmem, const int *mqueue, const double *mprio, const double *mdelay,
                      const double *mpos, const long long *mweight, int nscan,
                      const int *scanq, const int *scanmem)
{
    if (!core || agent < 0 || agent > (1 << 28))
        return ACD_EINDEX;
    if (order < 0 || region < 0 || nsk < 0 || nmem < 0 || nscan < 0 || nmem > core->nq ||
        nscan > core->nq || !cap || excl >= (1u << ACD_NCH))
        return ACD_EARG;
    if ((nsk && (!skill || !level)) || (nmem && (!mqueue || !mprio || !mdelay || !mpos || !mweight)) ||
        (nscan && (!scanq || !scanmem)))
        return ACD_EARG;
    int maxsk = -1;
    for (int i = 0; i < nsk; i++) {
        if (skill[i] < 0 || skill[i] > (1 << 24) || level[i] < 0 || level[i] > 255)
            return ACD_EARG;
        if (skill[i] > maxsk)
            maxsk = skill[i];
    }
    for (int i = 0; i < ACD_NCH; i++)
        if (cap[i] < 0)
            return ACD_EARG;
    for (int i = 0; i < nmem; i++)
        if (mqueue[i] < 0 || mqueue[i] >= core->nq || isnan(mprio[i]) || isnan(mdelay[i]) ||
            isnan(mpos[i]) || mdelay[i] < 0)
            return ACD_EARG;
    for (int i = 0; i < nscan; i++)
        if (scanq[i] < 0 || scanq[i] >= core->nq || scanmem[i] < -1 || scanmem[i] >= nmem)
            return ACD_EARG;
    if (ensure_agent(core, agent))
        return ACD_ENOMEM;
    unsigned char *sk = calloc((size_t)(maxsk + 2), 1);
    mem_t *mem = malloc(sizeof(mem_t) * (size_t)(nmem ? nmem : 1));
    scan_t *scan = malloc(sizeof(scan_t) * (size_t)(nscan ? nscan : 1));
    if (!sk || !mem || !scan) {
        free(sk);
        free(mem);
        free(scan);
        return ACD_ENOMEM;
    }
    agent_t *a = &core->a[agent];
    set_offerable(core, agent, 0); /* leaves the old queues' free lists; never fails */
    for (int i = 0; i < nsk; i++)
        sk[skill[i]] = (unsigned char)level[i];
    for (int i = 0; i < nmem; i++) {
        mem[i].queue = mqueue[i];
        mem[i].freepos = -1;
        mem[i].pd.priority = mprio[i];
        mem[i].pd.delay = mdelay[i];
        mem[i].position = mpos[i];
        mem[i].weight = mweight[i];
    }
    for (int i = 0; i < nscan; i++) {
        scan[i].queue = scanq[i];
        scan[i].mem = scanmem[i];
        if (scanmem[i] >= 0)
            scan[i].pd = mem[scanmem[i]].pd;
        else
            scan[i].pd.priority = scan[i].pd.delay = 0;
        scan[i].nv = 0;
        scan[i].ok0 = 0;
        scan[i].more = NULL;
    }
    free(a->sk);
    free(a->mem);
    for (int s = 0; s < a->nscan; s++)
        free(a->scan[s].more);
    free(a->scan);
    a->sk = sk;
    a->nsk = maxsk + 1;
    a->mem = mem;
    a->nmem = nmem;
    a->scan = scan;
    a->nscan = nscan;
    memcpy(a->cap, cap, sizeof a->cap);
    a->excl = excl;
    a->order = order;
    a->region = region;
    a->known = 1;
    /* The class verdicts of the buckets that exist now; a failure here only
     * leaves them to be computed when a search meets those buckets. */
    for (int s = 0; s < nscan; s++)
        (void)scan_extend(core, a, &a->scan[s]);
    return ACD_OK;
}

int acd_agent_sync(acd_core *core, int agent, int avail, double idle_since, double calls_taken,
                   double talk_time, int guarded, int nsess, const long long *sess_seq,
                   const int *sess_ch)
{
    if (!core || agent < 0 || agent >= core->na || !core->a[agent].known)
        return ACD_EINDEX;
    if (nsess < 0 || nsess > 4096 || (nsess && (!sess_seq || !sess_ch)) || isnan(idle_since) ||
        isnan(calls_taken) || isnan(talk_time))
        return ACD_EARG;
    for (int i = 0; i < nsess; i++)
        if (sess_ch[i] < 0 || sess_ch[i] >= ACD_NCH)
            return ACD_EARG;
    agent_t *a = &core->a[agent];
    if (nsess > a->capsess) {
        int c1 = a->capsess, c2 = a->capsess;
        if (grow((void **)&a->sess_seq, &c1, nsess, sizeof(long long)) ||
            grow((void **)&a->sess_ch, &c2, nsess, sizeof(int)))
            return ACD_ENOMEM;
        a->capsess = c1 < c2 ? c1 : c2;
    }
    if (reserve_free(core, agent))
        return ACD_ENOMEM;
    for (int i = 0; i < nsess; i++) {
        a->sess_seq[i] = sess_seq[i];
        a->sess_ch[i] = sess_ch[i];
    }
    a->nsess = nsess;
    int on = avail && free_mask(a) != 0;
    set_offerable(core, agent, on); /* cannot fail: room was reserved */
    a->avail = avail ? 1 : 0;
    a->idle_since = idle_since;
    a->calls_taken = calls_taken;
    a->talk_time = talk_time;
    a->guarded = guarded ? 1 : 0;
    return on;
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

/* ---------------------------------------------------------------- routing */

static int scratch(acd_core *core, int need)
{
    return grow((void **)&core->scratch_mem, &core->capscratch, need, sizeof(int));
}

/* Is candidate x (agent ax, membership mx) better than y under the strategy? */
static int better(const acd_core *core, int strategy, const cls_t *cl, int ax, int mx, int ay,
                  int my, int rr_last)
{
    const agent_t *x = &core->a[ax], *y = &core->a[ay];
    switch (strategy) {
    case S_FEWEST_CALLS:
        if (x->calls_taken != y->calls_taken)
            return x->calls_taken < y->calls_taken;
        break;
    case S_LEAST_TALK_TIME:
        if (x->talk_time != y->talk_time)
            return x->talk_time < y->talk_time;
        break;
    case S_ROUND_ROBIN:
        if (rr_last >= 0) {
            int bx = x->order <= rr_last, by = y->order <= rr_last;
            if (bx != by)
                return bx < by;
        }
        return x->order < y->order;
    case S_LINEAR: {
        double px = x->mem[mx].position, py = y->mem[my].position;
        if (px != py)
            return px < py;
        return x->order < y->order;
    }
    case S_MOST_SKILLED: {
        long sx = 0, sy = 0;
        for (int i = 0; i < cl->nreq; i++) {
            sx += level_of(x, cl->skill[i]);
            sy += level_of(y, cl->skill[i]);
        }
        if (sx != sy)
            return sx > sy;
        break;
    }
    default:
        break;
    }
    if (x->idle_since != y->idle_since)
        return x->idle_since < y->idle_since;
    return x->order < y->order;
}

static int cmp_ll(const void *p, const void *q)
{
    long long x = *(const long long *)p, y = *(const long long *)q;
    return (x > y) - (x < y);
}

int acd_route_call(acd_core *core, int slot, double now, int rr_last, int *out_agent,
                   long long *out_weight, int cap, double *earliest)
{
    if (!core || slot < 0 || slot >= core->nc || core->c[slot].state != 2)
        return ACD_EINDEX;
    if (!out_agent || !out_weight || !earliest || cap < 0 || isnan(now))
        return ACD_EARG;
    const call_t *c = &core->c[slot];
    const int queue = core->b[c->h.bucket].queue;
    const cls_t *cl = &core->cls[core->b[c->h.bucket].cls];
    const queue_t *home = &core->q[queue];
    int total = home->nfree;
    for (int e = 0; e < cl->nextra; e++)
        total += core->q[cl->extra[e]].nfree;
    if (scratch(core, total + 1))
        return ACD_ENOMEM;
    int *cmem = core->scratch_mem;
    int n = 0;
    double soonest = INFINITY;
    unsigned stamp = ++core->stamp;
    if (stamp == 0) { /* wrapped: clear every stamp once */
        for (int i = 0; i < core->na; i++)
            core->a[i].stamp = 0;
        stamp = core->stamp = 1;
    }
    int ch = cl->channel;
    int any_guarded = 0;
    for (int src = -1; src < cl->nextra; src++) {
        const queue_t *q = src < 0 ? home : &core->q[cl->extra[src]];
        for (int i = 0; i < q->nfree; i++) {
            int ai = q->free_agent[i];
            agent_t *a = &core->a[ai];
            if (a->stamp == stamp)
                continue;
            a->stamp = stamp;
            if (!channel_free(a, ch))
                continue;
            int mi = src < 0 ? q->free_mem[i] : membership_for(a, queue, cl);
            if (mi < 0 || !class_ok(a, cl) || in_session(a, c->h.seq))
                continue;
            double at = opens(&c->h, &a->mem[mi].pd, ai, now);
            if (at <= now) {
                if (n >= cap)
                    return ACD_EARG;
                out_agent[n] = ai;
                cmem[n] = mi;
                any_guarded |= a->guarded;
                n++;
            } else if (at < soonest) {
                soonest = at;
            }
        }
    }
    *earliest = soonest;
    if (n == 0)
        return 0;
    if (any_guarded && n > 1) {
        int k = 0;
        for (int i = 0; i < n; i++)
            if (!core->a[out_agent[i]].guarded) {
                out_agent[k] = out_agent[i];
                cmem[k] = cmem[i];
                k++;
            }
        if (k > 0)
            n = k;
    }
    if (c->h.preferred >= 0)
        for (int i = 0; i < n; i++)
            if (out_agent[i] == c->h.preferred) {
                out_agent[0] = out_agent[i];
                out_weight[0] = core->a[out_agent[i]].mem[cmem[i]].weight;
                return 1;
            }
    int strategy = home->strategy;
    if (strategy == S_RANDOM || strategy == S_WEIGHTED_RANDOM || strategy == S_RING_ALL) {
        /* every candidate, in agent order (the caller draws or rings all);
         * out_weight doubles as the sort buffer of (order << 32 | agent) */
        for (int i = 0; i < n; i++)
            out_weight[i] = ((long long)core->a[out_agent[i]].order << 32) | out_agent[i];
        qsort(out_weight, (size_t)n, sizeof(long long), cmp_ll);
        for (int i = 0; i < n; i++) {
            int ai = (int)(out_weight[i] & 0x7fffffff);
            out_agent[i] = ai;
            out_weight[i] = core->a[ai].mem[membership_for(&core->a[ai], queue, cl)].weight;
        }
        return n;
    }
    int best = 0;
    for (int i = 1; i < n; i++)
        if (better(core, strategy, cl, out_agent[i], cmem[i], out_agent[best], cmem[best], rr_last))
            best = i;
    out_agent[0] = out_agent[best];
    out_weight[0] = core->a[out_agent[best]].mem[cmem[best]].weight;
    return 1;
}

/* The membership through which the agent may take the calls of the queue's
 * bucket `local` (its own membership `own`, or for a borrowed queue the one
 * found through the class's extra queues), or NULL when the bucket's class
 * is closed to it: channel not free (`fm`), or (cached in sc) no membership,
 * region or skills. */
static const pd_t *bucket_mem(const acd_core *core, const agent_t *a, scan_t *sc,
                              const pd_t *own, int local, unsigned fm)
{
    if (!scan_ok(core, a, sc, local))
        return NULL;
    const bucket_t *b = &core->b[core->q[sc->queue].bk[local]];
    if (!(fm & (1u << b->channel)))
        return NULL;
    if (own)
        return own;
    return &a->mem[membership_for(a, sc->queue, &core->cls[b->cls])].pd;
}

/* The best waiting call for agent ai now, across its scan list; -1 and the
 * earliest instant a held-back call opens when there is none. */
static int best_call(acd_core *core, int ai, double now, double *earliest)
{
    agent_t *a = &core->a[ai];
    unsigned fm = free_mask(a);
    int best = -1;
    const hot_t *bh = NULL;
    double bprio = 0, soonest = INFINITY;
    for (int s = 0; s < a->nscan; s++) {
        scan_t *sc = &a->scan[s];
        const pd_t *own = sc->mem >= 0 ? &sc->pd : NULL;
        if (own && best >= 0 && own->priority > bprio)
            continue;
        const queue_t *q = &core->q[sc->queue];
        if (q->nwaiting == 0)
            continue;
        int qbest = -1;
        const hot_t *qh = NULL;
        const pd_t *qmem = NULL;
        int held = 0; /* saw a call that opens later: second pass needed */
        for (int k = 0; k < q->nact; k++) {
            int local = q->active[k];
            const bucket_t *b = &core->b[q->bk[local]];
            if (qbest >= 0 && keycmp(b->head.key, qh->key) > 0)
                break; /* this bucket and every later one start after the pick */
            const pd_t *m = bucket_mem(core, a, sc, own, local, fm);
            if (!m)
                continue;
            for (int x = b->fwd[0]; x >= 0; x = core->c[x].fwd[0]) {
                const hot_t *h = x == b->fwd[0] ? &b->head : &core->c[x].h;
                if (qbest >= 0 && keycmp(h->key, qh->key) > 0)
                    break;
                if (a->nsess && in_session(a, h->seq))
                    continue;
                if (opens(h, m, ai, now) <= now) {
                    qbest = x;
                    qh = h;
                    qmem = m;
                    break;
                }
                held = 1;
            }
        }
        if (held) {
            /* earliest opening among calls ahead of the queue's pick */
            for (int k = 0; k < q->nact; k++) {
                int local = q->active[k];
                const bucket_t *b = &core->b[q->bk[local]];
                if (qbest >= 0 && keycmp(b->head.key, qh->key) >= 0)
                    break;
                const pd_t *m = bucket_mem(core, a, sc, own, local, fm);
                if (!m)
                    continue;
                for (int x = b->fwd[0]; x >= 0; x = core->c[x].fwd[0]) {
                    const hot_t *h = x == b->fwd[0] ? &b->head : &core->c[x].h;
                    if (qbest >= 0 && keycmp(h->key, qh->key) >= 0)
                        break;
                    if (a->nsess && in_session(a, h->seq))
                        continue;
                    double at = opens(h, m, ai, now);
                    if (at > now && at < soonest)
                        soonest = at;
                }
            }
        }
        if (qbest < 0)
            continue;
        if (best < 0 || qmem->priority < bprio ||
            (qmem->priority == bprio &&
             (qh->entered < bh->entered || (qh->entered == bh->entered && qh->seq < bh->seq)))) {
            best = qbest;
            bh = qh;
            bprio = qmem->priority;
        }
    }
    *earliest = soonest;
    return best;
}

static int assign(acd_core *core, int ai, int slot)
{
    agent_t *a = &core->a[ai];
    if (a->nsess == a->capsess) {
        int c1 = a->capsess, c2 = a->capsess;
        if (grow((void **)&a->sess_seq, &c1, a->nsess + 1, sizeof(long long)) ||
            grow((void **)&a->sess_ch, &c2, a->nsess + 1, sizeof(int)))
            return ACD_ENOMEM;
        a->capsess = c1 < c2 ? c1 : c2;
    }
    call_t *c = &core->c[slot];
    a->sess_seq[a->nsess] = c->h.seq;
    a->sess_ch[a->nsess] = core->b[c->h.bucket].channel;
    a->nsess++;
    take_call(core, slot);
    return ACD_OK;
}

int acd_route_agent(acd_core *core, int agent, int avail, double now, int max, int *out_slot,
                    double *earliest)
{
    if (!core || agent < 0 || agent >= core->na || !core->a[agent].known)
        return ACD_EINDEX;
    if (!out_slot || !earliest || max < 0 || isnan(now))
        return ACD_EARG;
    int n = 0;
    *earliest = INFINITY;
    while (n < max && avail && free_mask(&core->a[agent])) {
        double soonest;
        int slot = best_call(core, agent, now, &soonest);
        if (slot < 0) {
            *earliest = soonest;
            break;
        }
        int rc = assign(core, agent, slot);
        if (rc)
            return rc;
        out_slot[n++] = slot;
    }
    return n;
}

int acd_match_agents(acd_core *core, int n, const int *agents, double now, int cap,
                     int *out_agent, int *out_slot)
{
    if (!core || n < 0 || (n && !agents) || cap < 0 || !out_agent || !out_slot || isnan(now))
        return ACD_EARG;
    for (int i = 0; i < n; i++)
        if (agents[i] < 0 || agents[i] >= core->na || !core->a[agents[i]].known)
            return ACD_EINDEX;
    int made = 0;
    for (int i = 0; i < n && made < cap; i++) {
        int ai = agents[i];
        agent_t *a = &core->a[ai];
        while (made < cap && a->avail && free_mask(a)) {
            double soonest;
            int slot = best_call(core, ai, now, &soonest);
            if (slot < 0)
                break;
            int rc = assign(core, ai, slot);
            if (rc)
                return rc;
            out_agent[made] = ai;
            out_slot[made] = slot;
            made++;
        }
        set_offerable(core, ai, a->avail && free_mask(a) != 0);
    }
    return made;
}

/* ---------------------------------------------------------- introspection */

int acd_queue_nfree(const acd_core *core, int queue)
{
    if (!core || queue < 0 || queue >= core->nq)
        return ACD_EINDEX;
    return core->q[queue].nfree;
}

int acd_queue_free_at(const acd_core *core, int queue, int i)
{
    if (!core || queue < 0 || queue >= core->nq || i < 0 || i >= core->q[queue].nfree)
        return ACD_EINDEX;
    return core->q[queue].free_agent[i];
}

int acd_queue_nwaiting(const acd_core *core, int queue)
{
    if (!core || queue < 0 || queue >= core->nq)
        return ACD_EINDEX;
    return core->q[queue].nwaiting;
}

int acd_call_state(const acd_core *core, int slot)
{
    if (!core || slot < 0 || slot >= core->nc)
        return ACD_EINDEX;
    return core->c[slot].state;
}

int acd_agent_offerable(const acd_core *core, int agent)
{
    if (!core || agent < 0 || agent >= core->na || !core->a[agent].known)
        return ACD_EINDEX;
    return core->a[agent].offerable;
}

int acd_ncalls(const acd_core *core) { return core ? core->ncalls : ACD_EINDEX; }

long long acd_memory(const acd_core *core)
{
    if (!core)
        return ACD_EINDEX;
    long long m = (long long)sizeof *core;
    m += (long long)core->nq * (long long)sizeof(queue_t);
    for (int i = 0; i < core->nq; i++)
        m += (long long)core->q[i].capfree * 8 + (long long)core->q[i].capact * 4 +
             (long long)core->q[i].capbk * 4;
    m += (long long)core->capa * (long long)sizeof(agent_t);
    for (int i = 0; i < core->na; i++) {
        const agent_t *a = &core->a[i];
        m += a->nsk + (long long)a->capsess * 12 + (long long)a->nmem * (long long)sizeof(mem_t) +
             (long long)a->nscan * (long long)sizeof(scan_t);
        for (int s = 0; s < a->nscan; s++)
            m += a->scan[s].nv > 64 ? ((long long)a->scan[s].nv - 1) / 64 * 8 : 0;
    }
    m += (long long)core->capc * (long long)sizeof(call_t) + (long long)core->captw * 4;
    m += (long long)core->capbmap * 4;
    m += (long long)core->capb * (long long)sizeof(bucket_t);
    m += (long long)core->capcls * (long long)sizeof(cls_t);
    return m;
}
