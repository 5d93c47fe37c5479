/* acdcore native backend: the decisions. The best agents for a call
 * (acd_route_call, by the queue's strategy), the best calls for an agent
 * (acd_route_agent) and the bulk loop (acd_match_agents).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_internal.h"

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
