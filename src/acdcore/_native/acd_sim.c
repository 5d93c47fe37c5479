/* acdcore native backend: the simulator's replication loop (see acd_sim.h).
 *
 * Each handler below is the Python loop's handler of the same name
 * (acdcore/_sim_run.py, _Run.on_arrive, arrive, on_answer, on_end,
 * on_abandon, rang; acdcore/_sim_direct.py, _Lane.take), in the same order
 * of steps and draws.
 */
#include "acd_sim_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_heap.h"
#include "acd_native.h"
#include "acd_rng.h"

int acd_sim_abi_version(void) { return ACD_SIM_ABI; }

/* ------------------------------------------------------------ plumbing */

static uint64_t okey(int64_t call, int agent) { return ((uint64_t)call << 26 | (uint64_t)agent) + 1; }

static int64_t oslot(const omap *m, uint64_t k)
{
    uint64_t h = k * 0x9E3779B97F4A7C15ull;
    int64_t i = (int64_t)(h >> 20) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static int omap_put(omap *m, uint64_t k, int64_t v)
{
    if ((m->n + 1) * 2 > m->cap) {
        omap old = *m;
        int64_t cap = old.cap ? old.cap * 2 : 64;
        m->keys = calloc((size_t)cap, sizeof(uint64_t));
        m->vals = malloc((size_t)cap * sizeof(int64_t));
        if (!m->keys || !m->vals) {
            free(m->keys);
            free(m->vals);
            *m = old;
            return ACD_ENOMEM;
        }
        m->cap = cap;
        m->n = 0;
        for (int64_t i = 0; i < old.cap; i++)
            if (old.keys[i]) {
                int64_t j = oslot(m, old.keys[i]);
                m->keys[j] = old.keys[i];
                m->vals[j] = old.vals[i];
                m->n++;
            }
        free(old.keys);
        free(old.vals);
    }
    int64_t i = oslot(m, k);
    if (!m->keys[i])
        m->n++;
    m->keys[i] = k;
    m->vals[i] = v;
    return ACD_OK;
}

/* The token of an offer, or -1. */
static int64_t omap_get(const omap *m, uint64_t k)
{
    if (!m->cap)
        return -1;
    int64_t i = oslot(m, k);
    return m->keys[i] ? m->vals[i] : -1;
}

/* Remove an offer (backward-shift deletion); ACD_SIM_EDRIVER when absent
 * (the Python loop's `del` would raise). */
static int omap_del(omap *m, uint64_t k)
{
    if (!m->cap)
        return ACD_SIM_EDRIVER;
    int64_t mask = m->cap - 1, i = oslot(m, k);
    if (!m->keys[i])
        return ACD_SIM_EDRIVER;
    m->keys[i] = 0;
    m->n--;
    for (int64_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        int64_t home = (int64_t)((m->keys[j] * 0x9E3779B97F4A7C15ull) >> 20) & mask;
        /* move j to the hole i unless its home lies cyclically in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            m->keys[i] = m->keys[j];
            m->vals[i] = m->vals[j];
            m->keys[j] = 0;
            i = j;
        }
    }
    return ACD_OK;
}

static double draw(acd_sim *s)
{
    double u;
    acd_rng_random(&s->rng, &u); /* a loaded state is always valid */
    return u;
}

/* dist.sample(rng), as acdcore.distributions draws it. */
static double sample(acd_sim *s, int id)
{
    const dist *d = &s->dists[id];
    switch (d->kind) {
    case ACD_SD_DETERMINISTIC:
        return d->a;
    case ACD_SD_EXPONENTIAL:
        return -log(1.0 - draw(s)) / d->a;
    case ACD_SD_LOGNORMAL: { /* random.normalvariate (Kinderman-Monahan) */
        double z;
        for (;;) {
            double u1 = draw(s);
            double u2 = 1.0 - draw(s);
            z = s->nv * (u1 - 0.5) / u2;
            double zz = z * z / 4.0;
            if (zz <= -log(u2))
                break;
        }
        return exp(d->a + z * d->b);
    }
    case ACD_SD_UNIFORM:
        return d->a + (d->b - d->a) * draw(s);
    default: /* ACD_SD_EMPIRICAL */
        return d->values[(int64_t)(draw(s) * (double)d->n)];
    }
}

static int engine_draw(void *ctx, uint64_t n, uint64_t *out)
{
    return acd_rng_randbelow((acd_rng *)ctx, n, out);
}

/* Python's float floor division rel // interval (CPython's float_divmod). */
static double floordiv(double vx, double wx)
{
    double mod = fmod(vx, wx);
    double div = (vx - mod) / wx;
    if (mod) {
        if ((wx < 0) != (mod < 0))
            div -= 1.0;
    }
    if (div) {
        double fl = floor(div);
        if (div - fl > 0.5)
            fl += 1.0;
        return fl;
    }
    return copysign(0.0, vx / wx);
}

/* _RunState._bucket: the measured interval of instant t, or -1. */
static int bucket_of(const acd_sim *s, double t)
{
    double rel = t - s->origin;
    if (rel < 0 || t >= s->mend)
        return -1;
    double k = floordiv(rel, s->interval);
    return k < (double)(s->nint - 1) ? (int)k : s->nint - 1;
}

/* The next arrival instant of _poisson's stream into *t: 1, or 0 at its end. */
static int next_arrival(acd_sim *s, double *t)
{
    if (s->phase < 0) {
        if (s->warm > 0) {
            s->at += -log(1.0 - draw(s)) / s->warm;
            if (s->at < s->origin) {
                *t = s->at;
                return 1;
            }
        }
        s->phase = 0;
        s->in_k = 0;
    }
    while (s->phase < s->nint) {
        double rate = s->rates[s->phase];
        if (!s->in_k) {
            if (rate <= 0) {
                s->phase++;
                continue;
            }
            s->at = s->origin + (double)s->phase * s->interval;
            s->bound = s->at + s->interval;
            s->in_k = 1;
        }
        s->at += -log(1.0 - draw(s)) / rate;
        if (s->at < s->bound) {
            *t = s->at;
            return 1;
        }
        s->phase++;
        s->in_k = 0;
    }
    return 0;
}

static int push(acd_sim *s, double t, int kind, int agent, int64_t call, int64_t token)
{
    int64_t rc = acd_heap_push(s->heap, t, kind + 16 * agent, call, token);
    return rc < 0 ? (int)rc : ACD_OK;
}

scall *sim_call(acd_sim *s, int64_t number) { return &s->calls[number - s->call0 - 1]; }

static int64_t number_of(const acd_sim *s, int64_t seq) { return seq - s->seq0 + s->call0 + 1; }

/* ------------------------------------------------------------ handlers */

/* _Run.rang: an offer rings agent `agent`. */
static int rang(acd_sim *s, double at, int64_t num, int agent, int queue)
{
    scall *c = sim_call(s, num);
    c->state = S_RINGING;
    c->offered_from = queue;
    s->token++;
    if (omap_put(&s->offers, okey(num, agent), s->token) < 0)
        return ACD_ENOMEM;
    sagent *a = &s->agents[agent];
    if (a->rona > 0.0 && draw(s) < a->rona)
        return ACD_OK; /* let it ring out */
    return push(s, at + sample(s, a->answer), K_ANSWER, agent, num, s->token);
}

/* _Lane.take: react to the step's records and log their KPIs, in order. */
static int take(acd_sim *s)
{
    int n = 0;
    const acd_action *acts = acd_engine_actions(s->e, &n);
    for (int i = 0; i < n; i++) {
        const acd_action *r = &acts[i];
        int64_t num = number_of(s, r->call);
        int rc;
        switch (r->kind) {
        case ACD_A_OFFER:
            kpi_offer(s, r->at, num, r->agent, r->queue);
            if ((rc = rang(s, r->at, num, r->agent, r->queue)) < 0)
                return rc;
            break;
        case ACD_A_QUEUED:
            kpi_queued(s, r->at, num, r->queue);
            sim_call(s, num)->state = S_WAITING;
            break;
        case ACD_A_CANCEL:
            kpi_cancel(s, r->at, num, r->agent, r->reason);
            if ((rc = omap_del(&s->offers, okey(num, r->agent))) < 0)
                return rc;
            break;
        case ACD_A_PAUSE: /* _Run.react: the agent resumes after its resume delay */
            kpi_pause(s, r->at, r->agent);
            sagent *a = &s->agents[r->agent];
            a->paused = 1;
            a->pause_queue = r->queue;
            a->token++;
            if ((rc = push(s, r->at + sample(s, a->resume), K_RESUME, r->agent, 0, a->token)) < 0)
                return rc;
            break;
        case ACD_A_REJECT:
            kpi_reject(s, r->at, num);
            sim_call(s, num)->state = S_GONE;
            s->live--;
            break;
        default:
            return ACD_SIM_EUNCOVERED;
        }
    }
    return s->err;
}

/* _Run.arrive (the driver's part of a generated arrival). */
static int arrive(acd_sim *s, double t, int type, double patience)
{
    const ctype *ct = &s->types[type];
    int64_t num = s->call0 + s->ncalls + 1;
    if (num > INT32_MAX)
        return ACD_EARG;
    if (sim_grow((void **)&s->calls, &s->ccap, s->ncalls + 1, sizeof(scall)) < 0)
        return ACD_ENOMEM;
    scall *c = &s->calls[s->ncalls++];
    int bucket = bucket_of(s, t);
    c->arrived = t;
    c->state = S_WAITING;
    c->queue = c->offered_from = ct->queue;
    c->bucket = bucket;
    c->type = type;
    c->agent = -1;
    s->live++;
    int64_t seq = acd_engine_next_seq(s->e);
    double key[6];
    for (int i = 0; i < 6; i++) {
        if (i >= ct->nkey)
            key[i] = -INFINITY;
        else if (ct->key_kind[i] == ACD_SK_ARRIVED)
            key[i] = t;
        else if (ct->key_kind[i] == ACD_SK_SEQ)
            key[i] = (double)seq;
        else
            key[i] = ct->key_const[i];
    }
    int64_t got = acd_engine_arrive(s->e, t, ct->queue, ct->cls, key, -1);
    if (got < 0)
        return (int)got;
    if (got != seq || number_of(s, got) != num)
        return ACD_SIM_EDRIVER;
    c = sim_call(s, num);
    c->seq = got;
    s->events++;
    int rc;
    kpi_arrived(s, t, num, ct->queue);
    if ((rc = take(s)) < 0)
        return rc;
    c = sim_call(s, num);
    if (c->state == S_GONE)
        return ACD_OK; /* rejected */
    if (patience < INFINITY && (rc = push(s, t + patience, K_ABANDON, 0, num, 0)) < 0)
        return rc;
    if (bucket >= 0) {
        int64_t *all = s->entered + (int64_t)s->nq * 2 * s->nint;
        int64_t *own = s->entered + (int64_t)ct->queue * 2 * s->nint;
        all[bucket]++;
        own[bucket]++;
        if (c->state == S_WAITING) {
            all[s->nint + bucket]++;
            own[s->nint + bucket]++;
        }
    }
    return ACD_OK;
}

/* _Run.on_arrive: a generated arrival's type, patience and the next one. */
static int on_arrive(acd_sim *s, double t)
{
    int type = 0;
    if (s->nt > 1) {
        double u = draw(s);
        while (type < s->nt - 1 && !(s->types[type].cum > u))
            type++; /* bisect_right over the cumulative weights */
    }
    const ctype *ct = &s->types[type];
    int pd = ct->patience >= 0 ? ct->patience : s->q_patience[ct->queue];
    double patience = pd >= 0 ? sample(s, pd) : INFINITY;
    double nxt;
    int rc;
    if (next_arrival(s, &nxt) && (rc = push(s, nxt, K_ARRIVE, 0, 0, 0)) < 0)
        return rc;
    return arrive(s, t, type, patience);
}

static int on_answer(acd_sim *s, double t, int64_t num, int agent, int64_t token)
{
    uint64_t k = okey(num, agent);
    if (omap_get(&s->offers, k) != token)
        return ACD_OK; /* cancelled: rang out, answered elsewhere, caller hung up... */
    scall *c = sim_call(s, num);
    int rc = acd_engine_answer(s->e, t, c->seq, agent);
    if (rc < 0)
        return rc;
    s->events++;
    kpi_answered(s, t, num, agent);
    if ((rc = take(s)) < 0 || (rc = omap_del(&s->offers, k)) < 0)
        return rc;
    c = sim_call(s, num);
    c->state = S_CONNECTED;
    c->agent = agent;
    s->agents[agent].connected++;
    if (c->bucket >= 0 && (rc = sim_dvec_push(&s->waits[2 * c->queue], t - c->arrived)) < 0)
        return rc;
    const ctype *ct = &s->types[c->type];
    int hd = ct->handle >= 0 ? ct->handle : s->q_handle[c->offered_from];
    return push(s, t + sample(s, hd), K_END, 0, num, 0);
}

/* A call ended or hung up (the façade forgets it then). */
static int gone(acd_sim *s, double t, int64_t num)
{
    if (sim_grow((void **)&s->ends, &s->cend, s->nend + 1, sizeof(acd_sim_end)) < 0)
        return ACD_ENOMEM;
    s->ends[s->nend].t = t;
    s->ends[s->nend++].call = num;
    return ACD_OK;
}

static int on_end(acd_sim *s, double t, int64_t num)
{
    scall *c = sim_call(s, num);
    if (c->state != S_CONNECTED)
        return ACD_OK;
    int rc = acd_engine_end(s->e, t, c->seq);
    if (rc < 0)
        return rc;
    s->events++;
    kpi_ended(s, t, num);
    if ((rc = take(s)) < 0)
        return rc;
    c = sim_call(s, num);
    c->state = S_GONE;
    s->live--;
    s->agents[c->agent].connected--;
    return gone(s, t, num);
}

static int on_abandon(acd_sim *s, double t, int64_t num)
{
    scall *c = sim_call(s, num);
    if (c->state == S_GONE || c->state == S_CONNECTED)
        return ACD_OK;
    int rc = acd_engine_abandon(s->e, t, c->seq);
    if (rc < 0)
        return rc;
    s->events++;
    kpi_abandoned(s, t, num);
    if ((rc = take(s)) < 0)
        return rc;
    c = sim_call(s, num);
    c->state = S_GONE;
    s->live--;
    if (c->bucket >= 0 && (rc = sim_dvec_push(&s->waits[2 * c->queue + 1], t - c->arrived)) < 0)
        return rc;
    return gone(s, t, num);
}

/* _Run.on_resume: an agent the distributor paused takes calls again. */
static int on_resume(acd_sim *s, double t, int agent, int64_t token)
{
    sagent *a = &s->agents[agent];
    if (!a->paused || a->token != token)
        return ACD_OK;
    int rc = acd_engine_resume(s->e, t, agent);
    if (rc < 0)
        return rc;
    s->events++;
    a->paused = 0;
    kpi_resumed(s, t, agent);
    return take(s);
}

/* _Run.run's loop. */
static int loop(acd_sim *s)
{
    double first;
    int rc;
    if (next_arrival(s, &first) && (rc = push(s, first, K_ARRIVE, 0, 0, 0)) < 0)
        return rc;
    for (;;) {
        acd_deadline top;
        double t = acd_heap_peek(s->heap, &top) == 1 ? top.when : INFINITY;
        double d;
        if (acd_engine_next_deadline(s->e, &d) && d <= t) {
            if (d > s->hard)
                break;
            if ((rc = acd_engine_advance(s->e, d)) < 0)
                return rc;
            s->advances++;
            if ((rc = take(s)) < 0)
                return rc;
            continue;
        }
        if (t > s->hard || (t >= s->mend && s->live == 0))
            break;
        acd_heap_pop(s->heap, &top);
        int kind = top.kind % 16, agent = top.kind / 16;
        switch (kind) {
        case K_ANSWER:
            rc = on_answer(s, t, top.ref, agent, top.token);
            break;
        case K_END:
            rc = on_end(s, t, top.ref);
            break;
        case K_ARRIVE:
            rc = on_arrive(s, t);
            break;
        case K_RESUME:
            rc = on_resume(s, t, agent, top.token);
            break;
        default:
            rc = on_abandon(s, t, top.ref);
        }
        if (rc < 0)
            return rc;
    }
    return ACD_OK;
}

int acd_sim_run(acd_sim *s, const uint32_t *words, int index, double nv_magic, int64_t first_call)
{
    if (!s || !words || first_call < 0 || s->ncalls || s->events)
        return ACD_EARG;
    for (int i = 0; i < s->nt; i++)
        if (s->types[i].cls < 0)
            return ACD_ESTATE; /* a type not configured */
    for (int q = 0; q < s->nq; q++)
        if (s->q_handle[q] < 0)
            return ACD_ESTATE;
    for (int a = 0; a < s->na; a++)
        if (s->agents[a].answer < 0)
            return ACD_ESTATE; /* an agent not configured */
    if (!s->k.on)
        return ACD_ESTATE; /* the KPIs not set up */
    int rc = acd_rng_set_state(&s->rng, words, index);
    if (rc < 0)
        return rc;
    s->nv = nv_magic;
    s->call0 = first_call;
    s->seq0 = acd_engine_next_seq(s->e);
    s->phase = -1;
    s->at = s->begin;
    if ((rc = acd_engine_set_draw(s->e, engine_draw, &s->rng)) < 0)
        return rc;
    return loop(s); /* the caller gives the engine its own draw back */
}

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
    s->types = calloc((size_t)ntypes, sizeof(ctype));
    s->rates = calloc((size_t)nint, sizeof(double));
    s->waits = calloc(2 * (size_t)nqueues, sizeof(dvec));
    s->entered = calloc(((size_t)nqueues + 1) * 2 * (size_t)nint, sizeof(int64_t));
    s->heap = acd_heap_new();
    if (!s->q_handle || !s->q_patience || !s->agents || !s->types || !s->rates || !s->waits ||
        !s->entered || !s->heap) {
        acd_sim_free(s);
        return NULL;
    }
    for (int q = 0; q < nqueues; q++)
        s->q_handle[q] = s->q_patience[q] = -1;
    for (int t = 0; t < ntypes; t++)
        s->types[t].cls = -1;
    for (int a = 0; a < nagents; a++)
        s->agents[a].answer = s->agents[a].resume = -1;
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
    free(s->agents);
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

int acd_sim_paused(const acd_sim *s, int agent)
{
    if (!s || agent < 0 || agent >= s->na)
        return ACD_EARG;
    return s->agents[agent].paused ? s->agents[agent].pause_queue : -1;
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
