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
        double x = d->a + z * d->b, y = exp(x);
        if (isinf(y) && !isinf(x) && !s->err)
            s->err = ACD_SIM_EOVERFLOW; /* math.exp raises OverflowError */
        return y;
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

static void logged_out(sagent *a);

/* _Run.rang: an offer rings agent `agent`. */
static int rang(acd_sim *s, double at, int64_t num, int agent, int queue)
{
    scall *c = sim_call(s, num);
    c->state = S_RINGING;
    c->offered_from = queue;
    s->token++;
    if (omap_put(&s->offers, okey(num, agent), s->token) < 0)
        return ACD_ENOMEM;
    sagent *a = &s->agents[s->sim_of[agent]];
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
        case ACD_A_PAUSE: { /* _Run.react: off a break, it resumes after a delay */
            kpi_pause(s, r->at, r->agent);
            int who = s->sim_of[r->agent];
            sagent *a = &s->agents[who];
            a->paused = 1;
            a->why = r->queue;
            if (!a->on_break) {
                a->token++;
                double delay = sample(s, a->resume);
                if ((rc = push(s, r->at + delay, K_RESUME, who, 0, a->token)) < 0)
                    return rc;
            }
            break;
        }
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
    s->agents[s->sim_of[agent]].connected++;
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
    int who = s->sim_of[c->agent];
    sagent *a = &s->agents[who];
    a->connected--;
    if (a->pending_logout && a->connected == 0) {
        logged_out(a);
        if (a->relogin) {
            a->relogin = 0;
            if ((rc = push(s, t, K_LOGIN, who, 0, 0)) < 0)
                return rc;
        }
    }
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

/* _RunState.logged_out: the driver's view of an agent that left. */
static void logged_out(sagent *a)
{
    a->logged_in = a->pending_logout = a->paused = a->on_break = 0;
    a->token++; /* pending resumes are stale */
}

/* _Run.on_login: a shift begins (or an agent logs in again). The engine's
 * index is given at the first login, as the façade names an agent. */
static int on_login(acd_sim *s, double t, int who)
{
    sagent *a = &s->agents[who];
    if (a->logged_in) {
        if (a->pending_logout)
            a->relogin = 1; /* still on its last call: log in when it ends */
        return ACD_OK;
    }
    int rc;
    if (a->idx < 0) {
        if ((rc = acd_engine_name_agent(s->e, s->named)) < 0)
            return rc;
        a->idx = s->named;
        s->sim_of[s->named++] = who;
    }
    rc = acd_engine_login(s->e, t, a->idx, a->idx, a->region, a->nsk, a->skill, a->level, a->cap,
                          a->excl, a->nmem, a->mq, a->mprio, a->mdelay, a->mpos, a->mweight);
    if (rc < 0)
        return rc;
    s->events++;
    kpi_login(s, t, a->idx);
    if ((rc = take(s)) < 0)
        return rc;
    a->logged_in = 1;
    a->paused = a->on_break = 0;
    a->why = -1;
    a->token++;
    return ACD_OK;
}

/* _Run.on_logout: a shift ends (at once, or once the agent's calls end). */
static int on_logout(acd_sim *s, double t, int who)
{
    sagent *a = &s->agents[who];
    a->relogin = 0;
    if (!a->logged_in || a->pending_logout)
        return ACD_OK;
    int rc = acd_engine_logout(s->e, t, a->idx);
    if (rc < 0)
        return rc;
    s->events++;
    kpi_logout(s, t, a->idx);
    if ((rc = take(s)) < 0)
        return rc;
    if (a->connected) {
        a->pending_logout = 1;
        a->token++;
    } else {
        logged_out(a);
    }
    return ACD_OK;
}

/* _Run.on_break: a break begins; it ends after its duration. */
static int on_break(acd_sim *s, double t, int who, int reason, double duration)
{
    sagent *a = &s->agents[who];
    if (!a->logged_in || a->pending_logout)
        return ACD_OK;
    int rc = acd_engine_pause(s->e, t, a->idx);
    if (rc < 0)
        return rc;
    s->events++;
    kpi_paused(s, t, a->idx);
    if ((rc = take(s)) < 0)
        return rc;
    a->paused = a->on_break = 1;
    a->why = -2 - reason;
    a->token++;
    return push(s, t + duration, K_RESUME, who, 0, a->token);
}

/* _Run.on_resume: a paused agent (a break's end, or after an auto-pause)
 * takes calls again, unless the pause it was scheduled for is over. */
static int on_resume(acd_sim *s, double t, int who, int64_t token)
{
    sagent *a = &s->agents[who];
    if (!(a->logged_in && a->paused && a->token == token))
        return ACD_OK;
    int rc = acd_engine_resume(s->e, t, a->idx);
    if (rc < 0)
        return rc;
    s->events++;
    kpi_resumed(s, t, a->idx);
    if ((rc = take(s)) < 0)
        return rc;
    a->paused = a->on_break = 0;
    a->why = -1;
    return ACD_OK;
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
        case K_LOGIN:
            rc = on_login(s, t, agent);
            break;
        case K_LOGOUT:
            rc = on_logout(s, t, agent);
            break;
        case K_BREAK: {
            double duration;
            memcpy(&duration, &top.token, sizeof(duration));
            rc = on_break(s, t, agent, (int)top.ref, duration);
            break;
        }
        case K_RESUME:
            rc = on_resume(s, t, agent, top.token);
            break;
        default:
            rc = on_abandon(s, t, top.ref);
        }
        if (rc < 0 || (rc = s->err) < 0) /* (a draw's error stops the step's loop too) */
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
        if (s->agents[a].answer < 0 || !s->agents[a].skill)
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
