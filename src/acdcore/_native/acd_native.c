/* acdcore native backend: see acd_native.h for what lives here and why.
 *
 * Files
 * -----
 * acd_internal.h  the shared structures and the small inline helpers;
 * acd_native.c    this file: the core's life (new, free, queues, classes)
 *                 and introspection;
 * acd_agents.c    agents' profiles and state, class verdicts, free lists;
 * acd_calls.c     waiting calls: slots, buckets and their skip lists, the
 *                 (queue, class) map, each queue's active list;
 * acd_match.c     the decisions (route_call, route_agent, match_agents).
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
 * active list: one int each, the bucket's local index, channel and a tie
 * bit) and, by local index, a copy of each head's search fields (hw, hk,
 * hn), so a search touches no bucket and no call until it takes one. Each
 * agent keeps, per queue it scans, a bit per bucket of that queue: is the
 * bucket's class open to it (membership, region, skills). The bits are set
 * when the profile is set and when a search first meets a newer bucket, so
 * stepping over a class the agent cannot serve costs a bit test (with at
 * most 64 buckets, the open ones are a single word: see best_call). An
 * agent's scan list holds its own queues first, by priority. Free lists are
 * sparse sets; a bulk match drops the agents that fill up in one pass
 * (drop_mark, drop_flush in acd_agents.c).
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

#include "acd_internal.h"

int acd_abi_version(void) { return ACD_NATIVE_ABI; }

int grow(void **arr, int *cap, int need, size_t size)
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
        free(core->q[i].hw);
        free(core->q[i].hk);
        free(core->q[i].hn);
    }
    for (int i = 0; i < core->na; i++) {
        agent_t *a = &core->a[i];
        free(a->sk);
        free(a->sess_heap);
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
    free(core->drop);
    free(core->off);
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
             (long long)core->q[i].capbk * (8 + (long long)sizeof(info_t) + (long long)sizeof(hkey_t));
    m += (long long)core->capa * (long long)(sizeof(agent_t) + 1) + (long long)core->capdrop * 4;
    for (int i = 0; i < core->na; i++) {
        const agent_t *a = &core->a[i];
        m += a->nsk + (a->capsess > SESS_INLINE ? (long long)a->capsess * (long long)sizeof(sess_t) : 0) + (long long)a->nmem * (long long)sizeof(mem_t) +
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
