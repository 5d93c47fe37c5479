/* acdcore native backend: agents. Their profiles (skills, memberships, the
 * scan list and its per-bucket class verdicts) and dynamic state, and the
 * queues' free lists of offerable agents. See acd_native.c for the layout.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_internal.h"

/* Is bucket b open to the agent through scan entry sc, its channel aside? */
int scan_open(const acd_core *core, const agent_t *a, const scan_t *sc, const bucket_t *b)
{
    const cls_t *cl = &core->cls[b->cls];
    if (sc->mem < 0 && membership_for(a, sc->queue, cl) < 0)
        return 0;
    return class_ok(a, cl);
}

/* Bring sc's verdicts up to every bucket of its queue. Allocates first, so a
 * failure leaves the cache as it was (only shorter than the queue). */
int scan_extend(const acd_core *core, const agent_t *a, scan_t *sc)
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

/* Is membership mi of agent ai in its queue's free list, at pos? A
 * membership's freepos is its place while it is there and may be stale once
 * it has left (the list is a sparse set: the entry is checked). */
static inline int in_free(const queue_t *q, int pos, int ai, int mi)
{
    return pos >= 0 && pos < q->nfree && q->free_agent[pos] == ai && q->free_mem[pos] == mi;
}

static int free_add(acd_core *core, int ai, int mi)
{
    agent_t *a = &core->a[ai];
    mem_t *m = &a->mem[mi];
    queue_t *q = &core->q[m->queue];
    if (in_free(q, m->freepos, ai, mi))
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
    core->nfree_all++;
    return ACD_OK;
}

static void free_del(acd_core *core, int ai, int mi)
{
    mem_t *m = &core->a[ai].mem[mi];
    queue_t *q = &core->q[m->queue];
    if (!in_free(q, m->freepos, ai, mi))
        return;
    int pos = m->freepos, last = --q->nfree;
    if (pos != last) {
        int oa = q->free_agent[last], om = q->free_mem[last];
        q->free_agent[pos] = oa;
        q->free_mem[pos] = om;
        core->a[oa].mem[om].freepos = pos;
    }
    m->freepos = -1;
    core->nfree_all--;
}

/* Make room for the agent in each of its queues' free lists. */
int reserve_free(acd_core *core, int ai)
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
int set_offerable(acd_core *core, int ai, int on)
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
    core->off[ai] = (unsigned char)on;
    return ACD_OK;
}

/* Leaving the free lists in bulk (acd_match_agents, where many agents fill
 * up one after another). drop_mark takes the agent out of service at once
 * (offerable 0) but leaves its entries in the lists; drop_flush then
 * removes every pending entry: when they are at least a quarter of all the
 * free lists' entries, by compacting each list in one pass that reads the
 * dense offerable flags (survivors keep their order, and only a survivor
 * that moves is written to); else agent by agent, by swap-remove as
 * free_del does. O(1) amortized per entry removed either way, and in the
 * common bulk case no dropped agent's memberships are read at all (their
 * freepos go stale: see in_free). Pending drops never outlive the call
 * that made them: acd_match_agents flushes before it adds an agent or
 * returns. */
void drop_mark(acd_core *core, int ai)
{
    agent_t *a = &core->a[ai];
    if (!a->offerable)
        return;
    if (grow((void **)&core->drop, &core->capdrop, core->ndrop + 1, sizeof(int))) {
        set_offerable(core, ai, 0); /* one at a time; never fails */
        return;
    }
    core->drop[core->ndrop++] = ai;
    core->dropmem += a->nmem;
    a->offerable = 0;
    core->off[ai] = 0;
}

void drop_flush(acd_core *core)
{
    if (!core->ndrop)
        return;
    if (core->dropmem * 4 >= core->nfree_all) {
        for (int qi = 0; qi < core->nq; qi++) {
            queue_t *q = &core->q[qi];
            int n = 0;
            for (int i = 0; i < q->nfree; i++) {
                int ai = q->free_agent[i];
                if (!core->off[ai])
                    continue;
                if (n != i) {
                    int mi = q->free_mem[i];
                    q->free_agent[n] = ai;
                    q->free_mem[n] = mi;
                    core->a[ai].mem[mi].freepos = n;
                }
                n++;
            }
            core->nfree_all -= q->nfree - n;
            q->nfree = n;
        }
    } else {
        for (int d = 0; d < core->ndrop; d++) {
            agent_t *a = &core->a[core->drop[d]];
            for (int i = 0; i < a->nmem; i++)
                free_del(core, core->drop[d], i);
        }
    }
    core->ndrop = 0;
    core->dropmem = 0;
}

static int ensure_agent(acd_core *core, int ai)
{
    if (ai < core->na)
        return ACD_OK;
    int capoff = core->capa;
    if (grow((void **)&core->off, &capoff, ai + 1, 1) ||
        grow((void **)&core->a, &core->capa, ai + 1, sizeof(agent_t)))
        return ACD_ENOMEM;
    memset(&core->off[core->na], 0, (size_t)(ai + 1 - core->na));
    memset(&core->a[core->na], 0, sizeof(agent_t) * (size_t)(ai + 1 - core->na));
    for (int i = core->na; i <= ai; i++)
        core->a[i].capsess = SESS_INLINE;
    core->na = ai + 1;
    return ACD_OK;
}

/* Room for `need` sessions: in the agent itself up to SESS_INLINE, then a
 * heap array (doubling). On failure nothing changes. */
int sess_reserve(agent_t *a, int need)
{
    if (need <= a->capsess)
        return ACD_OK;
    int cap = a->capsess;
    while (cap < need)
        cap *= 2;
    sess_t *p;
    if (a->capsess > SESS_INLINE) {
        p = realloc(a->sess_heap, sizeof(sess_t) * (size_t)cap);
    } else {
        p = malloc(sizeof(sess_t) * (size_t)cap);
        if (p && a->nsess)
            memcpy(p, a->sess_in, sizeof(sess_t) * (size_t)a->nsess);
    }
    if (!p)
        return ACD_ENOMEM;
    a->sess_heap = p;
    a->capsess = cap;
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
    /* own queues first, by priority (stable: insertion), then the borrowed
     * ones as given */
    int nown = 0;
    for (int i = 0; i < nscan; i++)
        nown += scanmem[i] >= 0;
    for (int i = 0, o = 0, r = nown; i < nscan; i++) {
        scan_t e;
        e.queue = scanq[i];
        e.mem = scanmem[i];
        if (scanmem[i] >= 0)
            e.pd = mem[scanmem[i]].pd;
        else
            e.pd.priority = e.pd.delay = 0;
        e.nv = 0;
        e.orig = i;
        e.ok0 = 0;
        e.more = NULL;
        if (e.mem < 0) {
            scan[r++] = e;
            continue;
        }
        int at = o++;
        while (at > 0 && scan[at - 1].pd.priority > e.pd.priority) {
            scan[at] = scan[at - 1];
            at--;
        }
        scan[at] = e;
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
    a->nown = nown;
    int nhead = 0;
    while (nhead < nown && scan[nhead].pd.priority == scan[0].pd.priority)
        nhead++;
    a->nhead = nhead < nscan ? nhead + 1 : nscan;
    memcpy(a->cap, cap, sizeof a->cap);
    a->capmask = 0;
    for (int ch = 0; ch < ACD_NCH; ch++)
        if (cap[ch] > 0)
            a->capmask |= 1u << ch;
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
    if (sess_reserve(a, nsess) || reserve_free(core, agent))
        return ACD_ENOMEM;
    sess_t *ss = sess_of(a);
    for (int i = 0; i < nsess; i++) {
        ss[i].seq = sess_seq[i];
        ss[i].ch = sess_ch[i];
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
