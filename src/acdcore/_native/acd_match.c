/* acdcore native backend: the decisions. The best agents for a call
 * (acd_route_call, by the queue's strategy), the best calls for an agent
 * (acd_route_agent) and the bulk loop (acd_match_agents).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_internal.h"

/* A helper made only of __builtin_prefetch calls must be inlined where it is
 * called, before GCC's interprocedural passes see it: GCC 12 finds such a
 * function "looping pure" (it only reads memory and returns nothing) and
 * then deletes every call to it, prefetches included. Before this, the
 * object file kept 3 of the 9 prefetches in the source: those written in
 * best_call itself; prefetch_take and prefetch_agents never ran. */
#if defined(__GNUC__)
#define ACD_NOINLINE __attribute__((noinline)) /* off the hot path */
#define ACD_PREFETCHER static inline __attribute__((always_inline))
#else
#define ACD_NOINLINE
#define ACD_PREFETCHER static inline
#endif

/* When the call opens to the agent, given its class is met: now, or later by
 * the membership delay or another agent's reservation. */
static double opens(const info_t *c, const pd_t *m, int agent, double now)
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
    const int queue = core->b[c->i.ref].queue;
    const cls_t *cl = &core->cls[core->b[c->i.ref].cls];
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
            if (mi < 0 || !class_ok(a, cl) || in_session(a, c->i.seq))
                continue;
            double at = opens(&c->i, &a->mem[mi].pd, ai, now);
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
    if (c->i.preferred >= 0)
        for (int i = 0; i < n; i++)
            if (out_agent[i] == c->i.preferred) {
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
 * bucket with active entry e (its own membership `own`, or for a borrowed
 * queue the one found through the class's extra queues), or NULL when the
 * bucket's class is closed to it: channel not free (`fm`), or (cached in sc)
 * no membership, region or skills. */
static inline const pd_t *bucket_mem(const acd_core *core, const agent_t *a, scan_t *sc,
                                     const pd_t *own, int e, unsigned fm)
{
    int local = ACT_LOCAL(e);
    if (!scan_ok(core, a, sc, local))
        return NULL;
    if (!(fm & (1u << ACT_CH(e))))
        return NULL;
    if (own)
        return own;
    const bucket_t *b = &core->b[core->q[sc->queue].bk[local]];
    return &a->mem[membership_for(a, sc->queue, &core->cls[b->cls])].pd;
}

/* A queue's pick for an agent: the call and what ranks it. */
typedef struct {
    int slot;
    int next; /* the slot after it in its bucket (for prefetching only), or -1 */
    const double *key;
    const info_t *info;
    const pd_t *mem;
} pick_t;

/* The queue's buckets (among its first 64) on a channel in fm. */
static inline unsigned long long chan_mask(const queue_t *q, unsigned fm)
{
    unsigned long long m = 0;
    for (int ch = 0; fm; ch++, fm >>= 1)
        if (fm & 1)
            m |= q->chm[ch];
    return m;
}

/* The first active entry from k on whose bucket is open to the agent
 * (class verdict and channel free), or nact: a bit test each. The verdicts
 * must cover every bucket of the queue (sc->nv == q->nbk). */
static inline int next_open(const queue_t *q, int k, const scan_t *sc, unsigned fm)
{
    const int *act = q->active;
    const int n = q->nact;
    if (!sc->more) { /* at most 64 buckets: one word */
        const unsigned long long ok = sc->ok0;
        for (; k < n; k++) {
            unsigned e = (unsigned)act[k];
            if ((ok >> ((e >> 4) & 63)) & (fm >> ((e >> 1) & 7)) & 1)
                break;
        }
        return k;
    }
    for (; k < n; k++) {
        int e = act[k], l = ACT_LOCAL(e);
        unsigned long long w = l < 64 ? sc->ok0 : sc->more[(l >> 6) - 1];
        if ((w >> (l & 63)) & (fm >> ACT_CH(e)) & 1)
            break;
    }
    return k;
}

/* The first call of queue q (in its policy order) that agent ai may take
 * now through scan entry sc: its slot, its key and info and the membership
 * it is taken through, and in *at its place in the active list when it is
 * its bucket's head (else -1); slot -1 when there is none, and then *held
 * says whether a call opens to it later. Reads the queue's active list and,
 * for the buckets open to the agent, their head summaries; a bucket's other
 * calls only when its head is held back or already the agent's. The general
 * case: best_call decides the common one itself. */
ACD_NOINLINE static void queue_first(const acd_core *core, const agent_t *a, int ai, scan_t *sc,
                                     const pd_t *own, const queue_t *q, unsigned fm, double now,
                                     pick_t *out, int *held, int *at)
{
    int qbest = -1;
    const double *qkey = NULL;
    const info_t *qi = NULL;
    const pd_t *qmem = NULL;
    int qeq = 0; /* with a pick: the current entry's head key equals its key */
    /* every verdict known: closed buckets are stepped over by next_open */
    const int fast = sc->nv >= q->nbk || scan_extend(core, a, sc) == ACD_OK;
    for (int k = 0; k < q->nact; k++) {
        int e = q->active[k];
        if (qbest >= 0) {
            /* this bucket and every later one start after the pick? (keys
             * only grow along the list: a closed bucket may be skipped) */
            if (qeq) {
                if (!ACT_TIE(e))
                    break; /* its key is above the previous one, equal to the pick's */
            } else {
                int cmp = keycmp(q->hk[ACT_LOCAL(e)].v, qkey);
                if (cmp > 0)
                    break;
                qeq = cmp == 0;
            }
        } else if (fast) {
            k = next_open(q, k, sc, fm);
            if (k == q->nact)
                break;
            e = q->active[k];
        }
        const pd_t *m = bucket_mem(core, a, sc, own, e, fm);
        if (!m)
            continue;
        int local = ACT_LOCAL(e);
        const info_t *hw = &q->hw[local];
        for (int x = hw->ref; x >= 0; x = core->c[x].fwd[0]) {
            int head = x == hw->ref;
            const info_t *ci = head ? hw : &core->c[x].i;
            const double *ck = head ? q->hk[local].v : core->c[x].key;
            /* (a head is not after the pick: checked above) */
            if (qbest >= 0 && !head && keycmp(ck, qkey) > 0)
                break;
            if (a->nsess && in_session(a, ci->seq))
                continue;
            if (opens(ci, m, ai, now) <= now) {
                qbest = x;
                *at = head ? k : -1;
                out->next = head ? q->hn[local] : core->c[x].fwd[0];
                qkey = ck;
                qi = ci;
                qmem = m;
                qeq = head;
                break;
            }
            *held = 1;
        }
    }
    out->slot = qbest;
    out->key = qkey;
    out->info = qi;
    out->mem = qmem;
}

/* The earliest instant a call of queue q ahead of the pick (all of them
 * without one) opens to the agent, when after now; else `soonest`. */
ACD_NOINLINE static double queue_soonest(const acd_core *core, const agent_t *a, int ai,
                                         scan_t *sc, const pd_t *own, const queue_t *q,
                                         unsigned fm, double now, const pick_t *p,
                                         double soonest)
{
    for (int k = 0; k < q->nact; k++) {
        int e = q->active[k];
        int local = ACT_LOCAL(e);
        if (p->slot >= 0 && keycmp(q->hk[local].v, p->key) >= 0)
            break;
        const pd_t *m = bucket_mem(core, a, sc, own, e, fm);
        if (!m)
            continue;
        const info_t *hw = &q->hw[local];
        for (int x = hw->ref; x >= 0; x = core->c[x].fwd[0]) {
            int head = x == hw->ref;
            const info_t *ci = head ? hw : &core->c[x].i;
            const double *ck = head ? q->hk[local].v : core->c[x].key;
            if (p->slot >= 0 && keycmp(ck, p->key) >= 0)
                break;
            if (a->nsess && in_session(a, ci->seq))
                continue;
            double at = opens(ci, m, ai, now);
            if (at > now && at < soonest)
                soonest = at;
        }
    }
    return soonest;
}

/* Does a queue's pick (its membership's priority, its info, the scan
 * entry's given index) rank before the best so far? By priority, then the
 * earliest entered, then the lowest sequence number: a total order over
 * calls, whatever the order the queues are searched in; exact ties (only a
 * caller giving two calls one sequence number could make one) go to the
 * queue given first, as when the scan list was searched in its given order. */
static inline int better_pick(double prio, const info_t *h, int orig, double bprio,
                              double bentered, long long bseq, int borig)
{
    if (prio != bprio)
        return prio < bprio;
    if (h->entered != bentered)
        return h->entered < bentered;
    if (h->seq != bseq)
        return h->seq < bseq;
    return orig < borig;
}

/* Ask for the lines that taking call `slot` will touch (the call, written
 * as it leaves its bucket, and the one after it, read as the new head) while
 * the search goes on: both are cold. `next` is a hint; anything else in
 * range, or -1, is harmless. */
ACD_PREFETCHER void prefetch_take(const acd_core *core, int slot, int next)
{
#if defined(__GNUC__)
    const char *p = (const char *)&core->c[slot];
    __builtin_prefetch(p, 1);
    __builtin_prefetch(p + sizeof(call_t) - 1, 1);
    if (next >= 0 && next < core->nc) {
        p = (const char *)&core->c[next];
        __builtin_prefetch(p);
        __builtin_prefetch(p + sizeof(call_t) - 1);
    }
#else
    (void)core;
    (void)slot;
    (void)next;
#endif
}

/* A queue's pick for an agent, when it is the first bucket open to the
 * agent whose head is not tied, not already the agent's and open now: the
 * common case, decided from the queue's active list and head summaries.
 * Returns 0 when queue_first must decide instead. */
static inline int fast_pick(const acd_core *core, const agent_t *a, int ai, const scan_t *sc,
                            const pd_t *own, const queue_t *q, int k, double now,
                            const pd_t **mout)
{
    const int *act = q->active;
    const int local = ACT_LOCAL(act[k]);
    const info_t *hw = &q->hw[local];
    if (k + 1 < q->nact && ACT_TIE(act[k + 1]))
        return 0;
    if (a->nsess && in_session(a, hw->seq))
        return 0;
    const pd_t *m = own;
    if (!m) {
        const bucket_t *b = &core->b[q->bk[local]];
        m = &a->mem[membership_for(a, sc->queue, &core->cls[b->cls])].pd;
    }
    if (opens(hw, m, ai, now) > now)
        return 0;
    *mout = m;
    return 1;
}

/* The index of the lowest set bit of a non-zero word. */
static inline int lowest_bit(unsigned x)
{
#if defined(__GNUC__)
    return __builtin_ctz(x);
#else
    int i = 0;
    while (!(x & 1u)) {
        x >>= 1;
        i++;
    }
    return i;
#endif
}

/* The first entry of an active list (na entries, every bucket among a
 * queue's first 64) whose bucket is in `open`, or na. The first open entry
 * is at a place that varies from agent to agent (in the benchmark: the
 * first 38 % of the time, past the eighth 17 %), so a loop that stops on it
 * mispredicts its exit about once a queue; this one tests eight entries at a time without a branch (eight
 * independent shifts), and branches once per eight. (Callgrind over the
 * benchmark: 8 fewer mispredicted branches a decision, 450 more
 * instructions; 3-5 % faster, measured side by side.) */
static inline int first_open(const int *act, int na, unsigned long long open)
{
    /* is the bucket of entry k + j open (its local index is below 64) */
#define OPEN_AT(j) ((unsigned)(open >> ((unsigned)act[k + (j)] >> 4 & 63u)) & 1u)
    int k = 0;
    for (; k + 8 <= na; k += 8) {
        /* written out: GCC -O2 leaves a loop over j rolled, with two
         * variable shifts an entry */
        unsigned hit = OPEN_AT(0) | OPEN_AT(1) << 1 | OPEN_AT(2) << 2 | OPEN_AT(3) << 3 |
                       OPEN_AT(4) << 4 | OPEN_AT(5) << 5 | OPEN_AT(6) << 6 | OPEN_AT(7) << 7;
        if (hit)
            return k + lowest_bit(hit);
    }
#undef OPEN_AT
    while (k < na && !((open >> ACT_LOCAL(act[k])) & 1))
        k++;
    return k;
}

/* Scan entries searched together (see best_call). */
#define BATCH 16

/* The best waiting call for agent ai now (fm: its free channels), across
 * its scan list; -1 and the earliest instant a held-back call opens when
 * there is none. *where: the pick's place in its queue's active list when
 * it is its bucket's head, else -1 (a hint for place).
 *
 * The best is the least pick by better_pick, a total order, so the queues
 * may be searched in any order; the search stops at the first own queue
 * whose priority is above the best's (own queues come first, by priority).
 * It goes through runs of own queues of one priority (or of borrowed
 * queues), up to BATCH at a time, in passes: the queues' summaries, then
 * their active lists, then the heads found; each pass asks for the lines the
 * next one reads, so the misses of a run's queues overlap instead of
 * queueing up behind one another (the data is shared by every agent and
 * mostly out of L1). A run visits exactly the queues the one-by-one search
 * would: all of one priority, or none. */
static int best_call(acd_core *core, int ai, unsigned fm, double now, double *earliest,
                     int *where)
{
    agent_t *a = &core->a[ai];
    scan_t *const scan = a->scan;
    const int nscan = a->nscan, nown = a->nown;
    int best = -1, borig = 0;
    double bprio = 0, bentered = 0;
    long long bseq = 0;
    double soonest = INFINITY;
    *where = -1;
    struct {
        const queue_t *q;
        unsigned long long open; /* buckets open to the agent (fast), else 0 */
        int k;                   /* its first open active entry; -1: general case */
    } run[BATCH];
    for (int s = 0; s < nscan;) {
        int e = s + 1;
        if (s < nown) {
            if (best >= 0 && scan[s].pd.priority > bprio) {
                s = nown; /* no later own queue can give a better pick */
                continue;
            }
            const double prio = scan[s].pd.priority;
            while (e < nown && e - s < BATCH && scan[e].pd.priority == prio)
                e++;
        } else {
            while (e < nscan && e - s < BATCH)
                e++;
        }
        const int n = e - s;
        /* pass 1: ask for the queues' summaries */
#if defined(__GNUC__)
        for (int i = 0; i < n; i++)
            __builtin_prefetch(&core->q[scan[s + i].queue]);
#endif
        /* pass 2: which buckets are open; ask for the active lists */
        for (int i = 0; i < n; i++) {
            scan_t *sc = &scan[s + i];
            const queue_t *q = &core->q[sc->queue];
            run[i].q = q;
            run[i].open = 0;
            run[i].k = -1;
            if (q->nwaiting == 0) {
                run[i].k = q->nact; /* nothing: skipped */
                continue;
            }
            if (!sc->more && sc->nv >= q->nbk) {
                /* at most 64 buckets, every verdict known: one word */
                unsigned long long open = sc->ok0 & (fm == 1 ? q->chm[0] : chan_mask(q, fm));
                run[i].open = open;
                run[i].k = q->nact; /* skipped unless an open bucket is found */
#if defined(__GNUC__)
                if (open)
                    __builtin_prefetch(q->active);
#endif
            }
        }
        /* pass 3: the first open bucket in each list; ask for its head */
        for (int i = 0; i < n; i++) {
            const unsigned long long open = run[i].open;
            if (!open)
                continue;
            const queue_t *q = run[i].q;
            const int *act = q->active;
            const int na = q->nact;
            const int k = first_open(act, na, open);
            run[i].k = k;
#if defined(__GNUC__)
            if (k < na)
                __builtin_prefetch(&q->hw[ACT_LOCAL(act[k])]);
#endif
        }
        /* pass 4: each queue's pick against the best */
        for (int i = 0; i < n; i++) {
            scan_t *sc = &scan[s + i];
            const queue_t *q = run[i].q;
            const pd_t *own = sc->mem >= 0 ? &sc->pd : NULL;
            const int k = run[i].k;
            if (k >= 0) {
                if (k >= q->nact)
                    continue; /* nothing open to the agent */
                const pd_t *m;
                if (fast_pick(core, a, ai, sc, own, q, k, now, &m)) {
                    const int local = ACT_LOCAL(q->active[k]);
                    const info_t *hw = &q->hw[local];
                    if (best < 0 ||
                        better_pick(m->priority, hw, sc->orig, bprio, bentered, bseq, borig)) {
                        best = hw->ref;
                        bprio = m->priority;
                        bentered = hw->entered;
                        bseq = hw->seq;
                        borig = sc->orig;
                        *where = k;
                        prefetch_take(core, best, q->hn[local]);
                    }
                    continue;
                }
            }
            /* the general case */
            pick_t p;
            int at = -1; /* the pick's place in the active list, when its bucket's head */
            int held = 0; /* saw a call that opens later: second pass needed */
            queue_first(core, a, ai, sc, own, q, fm, now, &p, &held, &at);
            if (held)
                soonest = queue_soonest(core, a, ai, sc, own, q, fm, now, &p, soonest);
            if (p.slot < 0)
                continue;
            const info_t *qh = p.info;
            if (best < 0 ||
                better_pick(p.mem->priority, qh, sc->orig, bprio, bentered, bseq, borig)) {
                best = p.slot;
                bprio = p.mem->priority;
                bentered = qh->entered;
                bseq = qh->seq;
                borig = sc->orig;
                *where = at;
                prefetch_take(core, p.slot, p.next);
            }
        }
        s = e;
    }
    *earliest = soonest;
    return best;
}

/* Give the agent call `slot` (at place `where` of its queue's active list
 * when it is its bucket's head there, else -1: a hint). */
static int assign(acd_core *core, int ai, int slot, int where)
{
    agent_t *a = &core->a[ai];
    if (sess_reserve(a, a->nsess + 1))
        return ACD_ENOMEM;
    call_t *c = &core->c[slot];
    sess_t *ss = sess_of(a);
    ss[a->nsess].seq = c->i.seq;
    ss[a->nsess].ch = core->b[c->i.ref].channel;
    a->nsess++;
    take_call(core, slot, where);
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
    unsigned fm;
    while (n < max && avail && (fm = free_mask(&core->a[agent])) != 0) {
        double soonest;
        int where;
        int slot = best_call(core, agent, fm, now, &soonest, &where);
        if (slot < 0) {
            *earliest = soonest;
            break;
        }
        int rc = assign(core, agent, slot, where);
        if (rc)
            return rc;
        out_slot[n++] = slot;
    }
    return n;
}

/* Ask for the next agents' data while this one is matched (each agent is
 * cold: nothing has read it since its profile and sync): the agent two
 * ahead, and the head of the scan list of the one after this (the entries
 * a search reads when its first priority's queues have a call: asking for
 * the whole list, a third more lines, was slower, the lines a decision can
 * have in flight being few). */
ACD_PREFETCHER void prefetch_agents(const acd_core *core, int n, const int *agents, int i)
{
#if defined(__GNUC__)
    if (i + 2 < n) {
        const char *p = (const char *)&core->a[agents[i + 2]];
        for (size_t o = 0; o < sizeof(agent_t); o += 64)
            __builtin_prefetch(p + o);
    }
    if (i + 1 < n) {
        const agent_t *a = &core->a[agents[i + 1]];
        const char *p = (const char *)a->scan;
        const size_t len = sizeof(scan_t) * (size_t)a->nhead;
        for (size_t o = 0; o < len; o += 64)
            __builtin_prefetch(p + o);
        if (len)
            __builtin_prefetch(p + len - 1); /* the list need not start a line */
    }
#else
    (void)core;
    (void)n;
    (void)agents;
    (void)i;
#endif
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
        prefetch_agents(core, n, agents, i);
        unsigned fm = 0;
        while (made < cap && a->avail && (fm = free_mask(a)) != 0) {
            double soonest;
            int where;
            int slot = best_call(core, ai, fm, now, &soonest, &where);
            if (slot < 0)
                break;
            int rc = assign(core, ai, slot, where);
            if (rc) {
                drop_flush(core);
                return rc;
            }
            out_agent[made] = ai;
            out_slot[made] = slot;
            made++;
        }
        if (a->avail && (made < cap ? fm : free_mask(a)) != 0) {
            drop_flush(core); /* no agent is added while drops are pending */
            set_offerable(core, ai, 1);
        } else {
            drop_mark(core, ai);
        }
    }
    drop_flush(core);
    return made;
}
