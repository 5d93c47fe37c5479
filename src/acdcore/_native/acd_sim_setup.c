/* acdcore native backend: the simulator loop's set-up and read-out (see
 * acd_sim.h): a new replication, its distributions, queues, agents, call
 * types and arrival rates, and what the run leaves (waits, counts, live
 * calls). The loop itself is acd_sim.c; its KPIs acd_sim_kpi.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_native.h"
#include "acd_sim_internal.h"

/* ---------------------------------------------------------- set-up */

acd_sim *acd_sim_new(acd_engine *e, int nqueues, int nagents, int ntypes, int nint, double begin,
                     double origin, double interval, double measured_end, double hard_stop)
{
    if (!e || nqueues < 1 || nagents < 0 || nagents >= (1 << 26) || ntypes < 1 || nint < 1 ||
        !(interval > 0) || !(begin <= origin) || !(origin <= measured_end) ||
        !(measured_end <= hard_stop))
        return NULL;
    acd_sim *s = calloc(1, sizeof(acd_sim));
    if (!s)
        return NULL;
    s->e = e;
    s->nq = nqueues;
    s->na = nagents;
    s->nt = ntypes;
    s->nint = nint;
    s->begin = begin;
    s->origin = origin;
    s->interval = interval;
    s->mend = measured_end;
    s->hard = hard_stop;
    s->q_handle = malloc(sizeof(int) * (size_t)nqueues);
    s->q_patience = malloc(sizeof(int) * (size_t)nqueues);
    s->agents = calloc((size_t)nagents + 1, sizeof(sagent));
    s->sim_of = calloc((size_t)nagents + 1, sizeof(int));
    s->types = calloc((size_t)ntypes, sizeof(ctype));
    s->rates = calloc((size_t)nint, sizeof(double));
    s->waits = calloc(2 * (size_t)nqueues, sizeof(dvec));
    s->entered = calloc(((size_t)nqueues + 1) * 2 * (size_t)nint, sizeof(int64_t));
    s->heap = acd_heap_new();
    if (!s->q_handle || !s->q_patience || !s->agents || !s->sim_of || !s->types || !s->rates || !s->waits ||
        !s->entered || !s->heap) {
        acd_sim_free(s);
        return NULL;
    }
    for (int q = 0; q < nqueues; q++)
        s->q_handle[q] = s->q_patience[q] = -1;
    for (int t = 0; t < ntypes; t++)
        s->types[t].cls = -1;
    for (int a = 0; a < nagents; a++) {
        s->agents[a].answer = s->agents[a].resume = -1;
        s->agents[a].idx = s->agents[a].why = -1;
    }
    return s;
}

void acd_sim_free(acd_sim *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->ndist; i++)
        free(s->dists[i].values);
    free(s->dists);
    free(s->q_handle);
    free(s->q_patience);
    if (s->agents)
        for (int a = 0; a < s->na; a++) {
            sagent *g = &s->agents[a];
            free(g->skill);
            free(g->level);
            free(g->mq);
            free(g->mprio);
            free(g->mdelay);
            free(g->mpos);
            free(g->mweight);
        }
    free(s->agents);
    free(s->sim_of);
    free(s->types);
    free(s->rates);
    if (s->waits)
        for (int i = 0; i < 2 * s->nq; i++)
            free(s->waits[i].v);
    free(s->waits);
    free(s->entered);
    acd_heap_free(s->heap);
    free(s->calls);
    free(s->offers.keys);
    free(s->offers.vals);
    kpi_free(s);
    free(s->ends);
    free(s);
}

int acd_sim_dist(acd_sim *s, int kind, double a, double b, const double *values, int n)
{
    if (!s || kind < ACD_SD_DETERMINISTIC || kind > ACD_SD_EMPIRICAL)
        return ACD_EARG;
    if (kind == ACD_SD_EMPIRICAL ? (!values || n < 1) : (a != a || b != b))
        return ACD_EARG;
    if (s->ndist == s->dcap) {
        int cap = s->dcap ? s->dcap * 2 : 8;
        dist *d = realloc(s->dists, sizeof(dist) * (size_t)cap);
        if (!d)
            return ACD_ENOMEM;
        s->dists = d;
        s->dcap = cap;
    }
    dist *d = &s->dists[s->ndist];
    d->kind = kind;
    d->a = a;
    d->b = b;
    d->values = NULL;
    d->n = 0;
    if (kind == ACD_SD_EMPIRICAL) {
        d->values = malloc(sizeof(double) * (size_t)n);
        if (!d->values)
            return ACD_ENOMEM;
        memcpy(d->values, values, sizeof(double) * (size_t)n);
        d->n = n;
    }
    return s->ndist++;
}

static int dist_ok(const acd_sim *s, int id, int optional)
{
    return (optional && id == -1) || (id >= 0 && id < s->ndist);
}

int acd_sim_queue(acd_sim *s, int q, int handle, int patience)
{
    if (!s || q < 0 || q >= s->nq || !dist_ok(s, handle, 0) || !dist_ok(s, patience, 1))
        return ACD_EARG;
    s->q_handle[q] = handle;
    s->q_patience[q] = patience;
    return ACD_OK;
}

int acd_sim_agent(acd_sim *s, int agent, double rona, int answer, int resume)
{
    if (!s || agent < 0 || agent >= s->na || !(rona >= 0.0 && rona <= 1.0) ||
        !dist_ok(s, answer, 0) || !dist_ok(s, resume, 0))
        return ACD_EARG;
    s->agents[agent].rona = rona;
    s->agents[agent].answer = answer;
    s->agents[agent].resume = resume;
    return ACD_OK;
}

static void *copy(const void *p, int n, size_t size)
{
    void *q = malloc(size * (size_t)(n > 0 ? n : 1));
    if (q && n > 0)
        memcpy(q, p, size * (size_t)n);
    return q;
}

int acd_sim_profile(acd_sim *s, int agent, int region, int nsk, const int *skill,
                    const int *level, const int *cap, unsigned excl, int nmem, const int *mqueue,
                    const double *mprio, const double *mdelay, const double *mpos,
                    const long long *mweight)
{
    if (!s || agent < 0 || agent >= s->na || nsk < 0 || nmem < 0 || !cap ||
        (nsk && (!skill || !level)) || (nmem && (!mqueue || !mprio || !mdelay || !mpos || !mweight)))
        return ACD_EARG;
    for (int i = 0; i < nmem; i++)
        if (mqueue[i] < 0 || mqueue[i] >= s->nq)
            return ACD_EINDEX;
    sagent *g = &s->agents[agent];
    if (g->skill)
        return ACD_ESTATE; /* given once */
    g->skill = copy(skill, nsk, sizeof(int));
    g->level = copy(level, nsk, sizeof(int));
    g->mq = copy(mqueue, nmem, sizeof(int));
    g->mprio = copy(mprio, nmem, sizeof(double));
    g->mdelay = copy(mdelay, nmem, sizeof(double));
    g->mpos = copy(mpos, nmem, sizeof(double));
    g->mweight = copy(mweight, nmem, sizeof(long long));
    if (!g->skill || !g->level || !g->mq || !g->mprio || !g->mdelay || !g->mpos || !g->mweight)
        return ACD_ENOMEM; /* (freed with the replication) */
    memcpy(g->cap, cap, sizeof(g->cap));
    g->nsk = nsk;
    g->nmem = nmem;
    g->excl = excl;
    g->region = region;
    return ACD_OK;
}

int acd_sim_event(acd_sim *s, double t, int kind, int agent, int reason, double duration)
{
    if (!s || t != t || agent < 0 || agent >= s->na || s->events || s->ncalls)
        return ACD_EARG;
    if (kind != K_LOGIN && kind != K_LOGOUT && kind != K_BREAK)
        return ACD_EARG;
    if (kind == K_BREAK && (reason < 0 || !(duration >= 0) || duration == INFINITY))
        return ACD_EARG;
    int64_t bits = 0;
    memcpy(&bits, &duration, sizeof(bits));
    int64_t rc = acd_heap_push(s->heap, t, kind + 16 * agent, kind == K_BREAK ? reason : 0,
                               kind == K_BREAK ? bits : 0);
    return rc < 0 ? (int)rc : ACD_OK;
}

int acd_sim_type(acd_sim *s, int t, double cum, int queue, int cls, int handle, int patience,
                 int nkey, const int *key_kind, const double *key_const)
{
    if (!s || t < 0 || t >= s->nt || queue < 0 || queue >= s->nq || cls < 0 ||
        !dist_ok(s, handle, 1) || !dist_ok(s, patience, 1) || nkey < 1 || nkey > 6 || !key_kind ||
        !key_const || cum != cum)
        return ACD_EARG;
    ctype *ct = &s->types[t];
    for (int i = 0; i < nkey; i++) {
        if (key_kind[i] < ACD_SK_CONST || key_kind[i] > ACD_SK_SEQ)
            return ACD_EARG;
        ct->key_kind[i] = key_kind[i];
        ct->key_const[i] = key_const[i];
    }
    ct->cum = cum;
    ct->queue = queue;
    ct->cls = cls;
    ct->handle = handle;
    ct->patience = patience;
    ct->nkey = nkey;
    return ACD_OK;
}

int acd_sim_arrivals(acd_sim *s, double warm_rate, const double *rates)
{
    if (!s || !rates || warm_rate != warm_rate)
        return ACD_EARG;
    for (int k = 0; k < s->nint; k++)
        if (rates[k] != rates[k])
            return ACD_EARG;
    s->warm = warm_rate;
    memcpy(s->rates, rates, sizeof(double) * (size_t)s->nint);
    return ACD_OK;
}

/* ------------------------------------------------------ after the run */

int acd_sim_rng(const acd_sim *s, uint32_t *words, int *index)
{
    return s ? acd_rng_get_state(&s->rng, words, index) : ACD_EARG;
}

const double *acd_sim_waits(const acd_sim *s, int q, int abandoned, int64_t *n)
{
    if (!s || !n || q < 0 || q >= s->nq)
        return NULL;
    const dvec *d = &s->waits[2 * q + (abandoned ? 1 : 0)];
    *n = d->n;
    return d->v;
}

const int64_t *acd_sim_entered(const acd_sim *s, int q, int delayed)
{
    if (!s || q < -1 || q >= s->nq)
        return NULL;
    int row = q < 0 ? s->nq : q;
    return s->entered + ((int64_t)row * 2 + (delayed ? 1 : 0)) * s->nint;
}

const acd_sim_end *acd_sim_ends(const acd_sim *s, int64_t *n)
{
    if (!s || !n)
        return NULL;
    *n = s->nend;
    return s->ends;
}

int acd_sim_paused(const acd_sim *s, int agent, int *why)
{
    if (!s || !why || agent < 0 || agent >= s->named)
        return ACD_EARG;
    *why = s->agents[s->sim_of[agent]].why; /* (kept through a logout, as the façade keeps it) */
    return ACD_OK;
}

int acd_sim_named(const acd_sim *s, int *out, int max)
{
    if (!s || (max > 0 && !out))
        return ACD_EARG;
    for (int i = 0; i < s->named && i < max; i++)
        out[i] = s->sim_of[i];
    return s->named;
}

int acd_sim_counts(const acd_sim *s, int64_t *out)
{
    if (!s || !out)
        return ACD_EARG;
    out[0] = s->call0 + s->ncalls;
    out[1] = s->events;
    out[2] = s->advances;
    return ACD_OK;
}

int acd_sim_live(const acd_sim *s, acd_sim_call *out, int max)
{
    if (!s || (out && max < 0))
        return ACD_EARG;
    int n = 0;
    for (int64_t i = 0; i < s->ncalls; i++) {
        const scall *c = &s->calls[i];
        if (c->state == S_GONE && !c->m_live)
            continue;
        if (out && n < max) {
            acd_sim_call *o = &out[n];
            o->arrived = c->arrived;
            o->seq = c->seq;
            o->call = (int32_t)(s->call0 + i + 1);
            o->type = c->type;
            o->queue = c->queue;
            o->state = c->state;
            o->m_seq = c->m_seq;
            o->m_bucket = c->m_bucket;
            o->m_live = c->m_live;
            o->m_state = c->m_state;
            o->m_current = c->m_current;
            o->m_answered = c->m_answered;
            o->m_agent = c->m_agent;
            o->pad = 0;
            o->answered_at = c->answered_at;
        }
        n++;
    }
    return n;
}
