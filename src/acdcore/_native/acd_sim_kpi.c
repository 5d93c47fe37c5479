/* acdcore native backend: the KPIs of the simulator's C loop (see acd_sim.h).
 *
 * Each kpi_* handler is the Metrics field handler of the same name
 * (acdcore/_metrics_handlers.py: _call_arrived, _call_queued, _offer_made,
 * _offer_cancelled, _exit, _offer_answered, _call_ended, _call_abandoned,
 * _on_pause_agent, _on_agent_resumed), after its _at(t); the helpers are
 * _MetricsCore's (_settle, _handled, _close, _spread, _qacc, _aacc) and
 * _metrics_records.py's (_category, _ringing). Same arithmetic in the same
 * order, so the sums come out bit for bit; accumulators are made in the same
 * order (the touch lists), so the Python dicts are rebuilt in theirs.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_native.h"
#include "acd_sim_internal.h"

int sim_grow(void **p, int64_t *cap, int64_t need, size_t size)
{
    if (need <= *cap)
        return ACD_OK;
    int64_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q)
        return ACD_ENOMEM;
    *p = q;
    *cap = c;
    return ACD_OK;
}

int sim_dvec_push(dvec *d, double x)
{
    if (sim_grow((void **)&d->v, &d->cap, d->n + 1, sizeof(double)) < 0)
        return ACD_ENOMEM;
    d->v[d->n++] = x;
    return ACD_OK;
}

static void fail(acd_sim *s, int rc)
{
    if (!s->err)
        s->err = rc;
}

/* ----------------------------------------------------- accumulators */

static int64_t index_of(const kpi *k, double t) { return (int64_t)floor((t + k->tz) / k->interval); }

static double bucket_start(const kpi *k, int64_t b) { return (double)b * k->interval - k->tz; }

/* The accumulator of size `size` in slot (b, who) of a table `width`
 * wide, made (zeroed) on first use and recorded in the touch list, which
 * keeps the order Metrics' dicts are made in; NULL on failure (s->err). */
static void *made(acd_sim *s, void **slots, int width, acd_kpi_touch **list, int64_t *n,
                  int64_t *cap, int64_t b, int who, size_t size)
{
    const kpi *k = &s->k;
    if (b < k->b0 || b >= k->b0 + k->nb) {
        fail(s, ACD_EINDEX);
        return NULL;
    }
    void **slot = &slots[(b - k->b0) * width + who];
    if (*slot)
        return *slot;
    if (sim_grow((void **)list, cap, *n + 1, sizeof(acd_kpi_touch)) < 0 ||
        !(*slot = calloc(1, size))) {
        fail(s, ACD_ENOMEM);
        return NULL;
    }
    (*list)[*n].bucket = b;
    (*list)[*n].who = who;
    (*list)[*n].pad = 0;
    (*n)++;
    return *slot;
}

/* _qacc: the (bucket, queue) accumulator, made on first use. */
static kacc *qacc(acd_sim *s, int64_t b, int q)
{
    kpi *k = &s->k;
    return made(s, k->qacc, s->nq, &k->qt, &k->nqt, &k->cqt, b, q, sizeof(kacc));
}

/* _aacc / _acc_in: the (bucket, agent) accumulator, made on first use. */
static kaacc *aacc(acd_sim *s, int64_t b, int a)
{
    kpi *k = &s->k;
    return made(s, k->aacc, s->na, &k->at, &k->nat, &k->cat, b, a, sizeof(kaacc));
}

/* One more of counter `field` (ACD_KPI_*) in the (bucket, queue)
 * accumulator, and in the (bucket, agent) one unless agent < 0. */
static void count(acd_sim *s, int64_t b, int q, int agent, int field)
{
    kacc *acc = qacc(s, b, q);
    if (acc)
        acc->n[field] += 1;
    if (agent < 0)
        return;
    kaacc *aa = aacc(s, b, agent);
    if (aa)
        aa->calls.n[field] += 1;
}

/* _spread: add [t0, t1) to the agent's time category, split at interval
 * boundaries. */
static void spread(acd_sim *s, int a, int field, double t0, double t1)
{
    const kpi *k = &s->k;
    if (!(t0 < t1))
        return;
    int64_t b = index_of(k, t0);
    if (t1 <= bucket_start(k, b + 1)) {
        kaacc *acc = aacc(s, b, a);
        if (acc)
            acc->time[field] = acc->time[field] + (t1 - t0);
        return;
    }
    while (t0 < t1) {
        double t = bucket_start(k, b + 1);
        if (t1 < t)
            t = t1;
        if (t > t0) {
            kaacc *acc = aacc(s, b, a);
            if (!acc)
                return;
            acc->time[field] = acc->time[field] + (t - t0);
            t0 = t;
        }
        b++;
    }
}

/* _close: account the agent's current state up to t. */
static void close_at(acd_sim *s, int a, double t)
{
    kagent *ag = &s->k.agents[a];
    if (ag->category >= 0 && t > ag->since)
        spread(s, a, ag->category, ag->since, t);
    ag->since = t;
}

/* _category: where the agent's time counts now. */
static void recategorise(acd_sim *s, int a)
{
    kagent *ag = &s->k.agents[a];
    if (!ag->logged_in) {
        ag->category = -1;
        return;
    }
    int has[3] = {0, 0, 0};
    for (int64_t i = 0; i < ag->nss; i++)
        has[ag->ss[i].state] = 1;
    if (has[SS_CONNECTED])
        ag->category = ACD_KPI_BUSY;
    else if (has[SS_WRAP])
        ag->category = ACD_KPI_WRAP;
    else if (has[SS_RINGING])
        ag->category = ACD_KPI_RINGING;
    else
        ag->category = ag->paused ? ACD_KPI_PAUSED : ACD_KPI_AVAILABLE;
}

/* _handled: a leg is over (its talk, and wrap seconds of wrap-up). */
static void handled(acd_sim *s, const ksession *ss, int a, double wrap)
{
    kacc *accs[2] = {qacc(s, ss->bucket, ss->queue), NULL};
    if (a >= 0) {
        kaacc *aa = aacc(s, ss->bucket, a);
        accs[1] = aa ? &aa->calls : NULL;
    }
    for (int i = 0; i < 2; i++) {
        if (!accs[i])
            continue;
        accs[i]->n[ACD_KPI_HANDLED] += 1;
        accs[i]->talk = accs[i]->talk + ss->talk;
        accs[i]->wrap = accs[i]->wrap + wrap;
    }
}

/* ----------------------------------------------------------- sessions */

static ksession *session_of(kagent *ag, int64_t seq)
{
    for (int64_t i = 0; i < ag->nss; i++)
        if (ag->ss[i].seq == seq)
            return &ag->ss[i];
    return NULL;
}

/* sessions[seq] = v: in place when present, else at the end (a dict's). */
static void session_set(acd_sim *s, kagent *ag, const ksession *v)
{
    ksession *old = session_of(ag, v->seq);
    if (old) {
        *old = *v;
        return;
    }
    if (sim_grow((void **)&ag->ss, &ag->css, ag->nss + 1, sizeof(ksession)) < 0) {
        fail(s, ACD_ENOMEM);
        return;
    }
    ag->ss[ag->nss++] = *v;
}

static void session_del(kagent *ag, int64_t seq)
{
    ksession *at = session_of(ag, seq);
    if (!at)
        return;
    int64_t i = at - ag->ss;
    memmove(at, at + 1, (size_t)(ag->nss - i - 1) * sizeof(ksession));
    ag->nss--;
}

/* --------------------------------------------------------- wrap-ups */

static int wrap_before(const acd_kpi_wrap *x, const acd_kpi_wrap *y)
{
    return x->until < y->until || (x->until == y->until && x->seq < y->seq);
}

static void wrap_push(acd_sim *s, double until, int a, int64_t call)
{
    kpi *k = &s->k;
    if (sim_grow((void **)&k->wraps, &k->cw, k->nw + 1, sizeof(acd_kpi_wrap)) < 0) {
        fail(s, ACD_ENOMEM);
        return;
    }
    acd_kpi_wrap w = {until, k->wrap_seq++, a, 0, call};
    int64_t i = k->nw++;
    while (i > 0) {
        int64_t p = (i - 1) / 2;
        if (!wrap_before(&w, &k->wraps[p]))
            break;
        k->wraps[i] = k->wraps[p];
        i = p;
    }
    k->wraps[i] = w;
}

/* heapq.heappop: the last entry moves to the root and sinks by CPython's
 * bottom-up _siftup (the smaller child rises to a leaf, then it sifts
 * down), so that the heap's layout stays the one heapq would give. */
static acd_kpi_wrap wrap_pop(kpi *k)
{
    acd_kpi_wrap top = k->wraps[0], last = k->wraps[--k->nw];
    int64_t n = k->nw, pos = 0;
    if (!n)
        return top;
    for (int64_t c = 1; c < n; c = 2 * pos + 1) {
        if (c + 1 < n && !wrap_before(&k->wraps[c], &k->wraps[c + 1]))
            c++;
        k->wraps[pos] = k->wraps[c];
        pos = c;
    }
    while (pos > 0) {
        int64_t p = (pos - 1) / 2;
        if (!wrap_before(&last, &k->wraps[p]))
            break;
        k->wraps[pos] = k->wraps[p];
        pos = p;
    }
    k->wraps[pos] = last;
    return top;
}

/* _at: end the wrap-ups due by now (_settle), then move the clock. */
static void settle_at(acd_sim *s, double now)
{
    kpi *k = &s->k;
    while (k->nw && k->wraps[0].until <= now) {
        acd_kpi_wrap w = wrap_pop(k);
        kagent *ag = &k->agents[w.agent];
        ksession *ss = session_of(ag, w.call);
        if (!ss || ss->state != SS_WRAP || ss->until != w.until)
            continue; /* cut short */
        close_at(s, w.agent, w.until);
        ksession done = *ss;
        session_del(ag, w.call);
        handled(s, &done, w.agent, w.until - done.ended);
        recategorise(s, w.agent);
    }
    k->now = now;
}

/* ----------------------------------------------------------- handlers */

/* Metrics' _call: the call if it keeps it, else counts an ignored item. */
static scall *mcall(acd_sim *s, int64_t num)
{
    scall *c = sim_call(s, num);
    if (!c->m_live) {
        s->k.ignored++;
        return NULL;
    }
    return c;
}

void kpi_arrived(acd_sim *s, double t, int64_t num, int queue)
{
    settle_at(s, t);
    scall *c = sim_call(s, num);
    c->m_bucket = index_of(&s->k, t);
    c->m_seq = s->k.call_seq++;
    c->m_live = 1;
    c->m_state = S_WAITING;
    c->m_current = queue;
    c->m_answered = 0;
    c->m_agent = -1;
    count(s, c->m_bucket, queue, -1, ACD_KPI_OFFERED);
}

void kpi_queued(acd_sim *s, double t, int64_t num, int queue)
{
    settle_at(s, t);
    scall *c = mcall(s, num);
    if (!c)
        return;
    c->m_state = S_WAITING;
    c->m_current = queue;
}

void kpi_offer(acd_sim *s, double t, int64_t num, int agent, int leg)
{
    settle_at(s, t);
    scall *c = mcall(s, num);
    if (!c)
        return;
    c->m_state = S_RINGING;
    /* the queue's count now, the agent's below: Metrics' order */
    count(s, c->m_bucket, c->queue, -1, ACD_KPI_OFFERS);
    kagent *ag = &s->k.agents[agent];
    close_at(s, agent, t);
    ksession *old = session_of(ag, c->m_seq);
    if (old && old->state == SS_WRAP) {
        ksession done = *old;
        handled(s, &done, agent, t - done.ended);
    }
    ksession v = {c->m_seq, c->m_bucket, (int32_t)num, SS_RINGING, c->queue, leg, 0.0, 0.0, 0.0};
    session_set(s, ag, &v);
    recategorise(s, agent);
    kaacc *aa = aacc(s, c->m_bucket, agent);
    if (aa)
        aa->calls.n[ACD_KPI_OFFERS] += 1;
}

void kpi_cancel(acd_sim *s, double t, int64_t num, int agent, int reason)
{
    settle_at(s, t);
    int rona = reason == ACD_R_RING_TIMEOUT; /* else the agent's doing: none */
    scall *c = sim_call(s, num);
    kagent *ag = &s->k.agents[agent];
    ksession *ss = NULL; /* _ringing: the agent's ringing session for the call */
    for (int64_t i = 0; i < ag->nss && !ss; i++)
        if (ag->ss[i].call == (int32_t)num && ag->ss[i].state == SS_RINGING)
            ss = &ag->ss[i];
    if (!c->m_live && !ss) {
        if (rona)
            s->k.ignored++;
        return;
    }
    int64_t bucket = 0;
    int queue = -1;
    if (c->m_live) {
        bucket = c->m_bucket;
        queue = c->queue;
    }
    if (ss) {
        bucket = ss->bucket;
        queue = ss->queue;
        close_at(s, agent, t);
        session_del(ag, ss->seq);
        recategorise(s, agent);
    }
    if (!rona || queue < 0)
        return;
    count(s, bucket, queue, agent, ACD_KPI_RONA);
}

void kpi_reject(acd_sim *s, double t, int64_t num)
{
    settle_at(s, t);
    scall *c = mcall(s, num);
    if (!c)
        return;
    c->m_live = 0;
    if (c->m_answered)
        return;
    count(s, c->m_bucket, c->queue, -1, ACD_KPI_REJECTED);
}

void kpi_answered(acd_sim *s, double t, int64_t num, int agent)
{
    settle_at(s, t);
    scall *c = mcall(s, num);
    if (!c)
        return;
    if (!c->m_answered) {
        c->m_answered = 1;
        double wait = t - c->arrived;
        kacc *acc = qacc(s, c->m_bucket, c->queue);
        if (acc) {
            acc->n[ACD_KPI_ANSWERED] += 1;
            if (sim_dvec_push(&acc->aw, wait) < 0)
                fail(s, ACD_ENOMEM);
            if (wait <= s->k.threshold[c->queue])
                acc->n[ACD_KPI_ANSWERED_WITHIN] += 1;
        }
    }
    c->m_state = S_CONNECTED;
    c->m_agent = agent;
    c->answered_at = t;
    kagent *ag = &s->k.agents[agent];
    close_at(s, agent, t);
    ksession *ringing = session_of(ag, c->m_seq);
    int leg = ringing ? ringing->leg : c->m_current;
    ksession v = {c->m_seq, c->m_bucket, (int32_t)num, SS_CONNECTED, c->queue, leg, 0.0, 0.0, 0.0};
    session_set(s, ag, &v);
    recategorise(s, agent);
    kaacc *aa = aacc(s, c->m_bucket, agent); /* (the queue's counted it above) */
    if (aa)
        aa->calls.n[ACD_KPI_ANSWERED] += 1;
}

void kpi_ended(acd_sim *s, double t, int64_t num)
{
    settle_at(s, t);
    scall *c = mcall(s, num);
    if (!c || c->m_state != S_CONNECTED)
        return;
    c->m_live = 0;
    /* _end_leg: talk time, then wrap-up */
    int a = c->m_agent;
    kagent *ag = &s->k.agents[a];
    ksession *ss = session_of(ag, c->m_seq);
    int leg = ss ? ss->leg : c->m_current;
    ksession ended = {c->m_seq, c->m_bucket, (int32_t)num, SS_WRAP, c->queue, leg,
                      t - c->answered_at, t, 0.0};
    close_at(s, a, t);
    session_del(ag, c->m_seq);
    double wrap = s->k.wrap[leg];
    if (ag->pending_logout) {
        handled(s, &ended, a, 0.0);
        int connected = 0;
        for (int64_t i = 0; i < ag->nss; i++)
            connected |= ag->ss[i].state == SS_CONNECTED;
        if (!connected) {
            ag->nss = 0;
            ag->logged_in = ag->paused = ag->pending_logout = 0;
        }
    } else if (wrap > 0) {
        ended.until = t + wrap;
        session_set(s, ag, &ended);
        wrap_push(s, ended.until, a, c->m_seq);
    } else {
        handled(s, &ended, a, 0.0);
    }
    recategorise(s, a);
}

void kpi_abandoned(acd_sim *s, double t, int64_t num)
{
    settle_at(s, t);
    scall *c = mcall(s, num);
    if (!c || c->m_state == S_CONNECTED)
        return;
    c->m_live = 0;
    if (c->m_answered)
        return;
    double wait = t - c->arrived;
    kacc *acc = qacc(s, c->m_bucket, c->queue);
    if (!acc)
        return;
    acc->n[ACD_KPI_ABANDONED] += 1;
    if (sim_dvec_push(&acc->bw, wait) < 0)
        fail(s, ACD_ENOMEM);
    if (wait <= s->k.threshold[c->queue])
        acc->n[ACD_KPI_ABANDONED_WITHIN] += 1;
    if (wait <= s->k.short_ab)
        acc->n[ACD_KPI_SHORT_ABANDONED] += 1;
}

/* _set_paused: True when the agent's pause changed (it is logged in). */
static int set_paused(acd_sim *s, double t, int agent, int paused)
{
    kagent *ag = &s->k.agents[agent];
    if (!ag->logged_in)
        return 0;
    close_at(s, agent, t);
    ag->paused = paused;
    recategorise(s, agent);
    return 1;
}

void kpi_pause(acd_sim *s, double t, int agent)
{
    settle_at(s, t);
    if (set_paused(s, t, agent, 1)) {
        kaacc *aa = aacc(s, index_of(&s->k, t), agent);
        if (aa)
            aa->auto_pauses += 1;
    }
}

void kpi_resumed(acd_sim *s, double t, int agent)
{
    settle_at(s, t);
    set_paused(s, t, agent, 0);
}

/* _on_agent_paused (a break). */
void kpi_paused(acd_sim *s, double t, int agent)
{
    settle_at(s, t);
    set_paused(s, t, agent, 1);
}

/* _on_agent_logged_in: the record is made at the first login. */
void kpi_login(acd_sim *s, double t, int agent)
{
    settle_at(s, t);
    kagent *ag = &s->k.agents[agent];
    if (!ag->exists) {
        ag->exists = 1;
        ag->category = -1;
        ag->since = t;
    }
    close_at(s, agent, t);
    ag->logged_in = 1;
    ag->paused = ag->pending_logout = 0;
    ag->nss = 0;
    recategorise(s, agent);
}

/* _on_agent_logged_out: ringing ends (its CancelOffer follows), wrap-ups
 * end now; with a call still connected, the logout waits for it. */
void kpi_logout(acd_sim *s, double t, int agent)
{
    settle_at(s, t);
    kagent *ag = &s->k.agents[agent];
    if (!ag->exists || !ag->logged_in)
        return;
    close_at(s, agent, t);
    for (int64_t i = 0; i < ag->nss;) {
        ksession x = ag->ss[i];
        if (x.state == SS_CONNECTED) {
            i++;
            continue;
        }
        session_del(ag, x.seq);
        if (x.state == SS_WRAP)
            handled(s, &x, agent, t - x.ended);
    }
    if (ag->nss)
        ag->pending_logout = 1;
    else
        ag->logged_in = ag->paused = ag->pending_logout = 0;
    recategorise(s, agent);
}

/* ------------------------------------------------- set-up, read-out */

int acd_sim_kpi(acd_sim *s, double interval, double tz, double short_abandon,
                const double *threshold, const double *wrap, int64_t b0, int64_t b1)
{
    if (!s || s->k.on || !threshold || !wrap || !(interval > 0) || tz != tz ||
        short_abandon != short_abandon || b1 < b0 ||
        b1 - b0 >= ((int64_t)1 << 40) / (s->nq + s->na + 1)) /* (a size past any memory) */
        return ACD_EARG;
    kpi *k = &s->k;
    int64_t nb = b1 - b0 + 1;
    k->threshold = malloc(sizeof(double) * (size_t)s->nq);
    k->wrap = malloc(sizeof(double) * (size_t)s->nq);
    k->qacc = calloc((size_t)(nb * s->nq), sizeof(void *));
    k->aacc = calloc((size_t)(nb * (s->na ? s->na : 1)), sizeof(void *));
    k->agents = calloc((size_t)s->na + 1, sizeof(kagent));
    if (!k->threshold || !k->wrap || !k->qacc || !k->aacc || !k->agents) {
        kpi_free(s);
        return ACD_ENOMEM;
    }
    memcpy(k->threshold, threshold, sizeof(double) * (size_t)s->nq);
    memcpy(k->wrap, wrap, sizeof(double) * (size_t)s->nq);
    for (int a = 0; a < s->na; a++)
        k->agents[a].category = -1; /* made at their first logins */
    k->interval = interval;
    k->tz = tz;
    k->short_ab = short_abandon;
    k->b0 = b0;
    k->nb = nb;
    k->now = s->begin;
    k->on = 1;
    return ACD_OK;
}

void kpi_free(acd_sim *s)
{
    kpi *k = &s->k;
    /* (through the touch lists: the slot arrays are mostly untouched) */
    for (int64_t i = 0; k->qacc && i < k->nqt; i++) {
        kacc *c = k->qacc[(k->qt[i].bucket - k->b0) * s->nq + k->qt[i].who];
        free(c->aw.v);
        free(c->bw.v);
        free(c);
    }
    for (int64_t i = 0; k->aacc && i < k->nat; i++) {
        kaacc *c = k->aacc[(k->at[i].bucket - k->b0) * s->na + k->at[i].who];
        free(c->calls.aw.v);
        free(c->calls.bw.v);
        free(c);
    }
    if (k->agents)
        for (int a = 0; a < s->na; a++)
            free(k->agents[a].ss);
    free(k->threshold);
    free(k->wrap);
    free(k->qacc);
    free(k->aacc);
    free(k->agents);
    free(k->qt);
    free(k->at);
    free(k->wraps);
    memset(k, 0, sizeof(*k));
}

const acd_kpi_touch *acd_sim_kpi_touches(const acd_sim *s, int agents, int64_t *n)
{
    if (!s || !n || !s->k.on)
        return NULL;
    *n = agents ? s->k.nat : s->k.nqt;
    return agents ? s->k.at : s->k.qt;
}

int acd_sim_kpi_acc(const acd_sim *s, int agents, int64_t bucket, int who, acd_kpi_acc *out)
{
    if (!s || !out || !s->k.on)
        return ACD_EARG;
    const kpi *k = &s->k;
    if (bucket < k->b0 || bucket >= k->b0 + k->nb || who < 0 || who >= (agents ? s->na : s->nq))
        return ACD_EINDEX;
    const kacc *c;
    memset(out, 0, sizeof(*out));
    if (agents) {
        const kaacc *a = k->aacc[(bucket - k->b0) * s->na + who];
        if (!a)
            return ACD_ESTATE;
        memcpy(out->time, a->time, sizeof(out->time));
        out->auto_pauses = a->auto_pauses;
        c = &a->calls;
    } else {
        c = k->qacc[(bucket - k->b0) * s->nq + who];
        if (!c)
            return ACD_ESTATE;
    }
    memcpy(out->n, c->n, sizeof(out->n));
    out->talk = c->talk;
    out->wrap = c->wrap;
    out->answered_waits = c->aw.v;
    out->n_answered_waits = c->aw.n;
    out->abandoned_waits = c->bw.v;
    out->n_abandoned_waits = c->bw.n;
    return ACD_OK;
}

int acd_sim_kpi_agent_of(const acd_sim *s, int agent, int *logged_in, int *paused,
                         int *pending_logout, int *category, double *since,
                         acd_kpi_session *ss, int max, int *nss)
{
    if (!s || !s->k.on || agent < 0 || agent >= s->na || !logged_in || !paused ||
        !pending_logout || !category || !since || !nss || (max > 0 && !ss))
        return ACD_EARG;
    const kagent *ag = &s->k.agents[agent];
    if (!ag->exists)
        return ACD_ESTATE;
    *logged_in = ag->logged_in;
    *paused = ag->paused;
    *pending_logout = ag->pending_logout;
    *category = ag->category;
    *since = ag->since;
    *nss = (int)ag->nss;
    for (int64_t i = 0; i < ag->nss && i < max; i++) {
        const ksession *x = &ag->ss[i];
        acd_kpi_session *o = &ss[i];
        o->seq = x->seq;
        o->bucket = x->bucket;
        o->call = x->call;
        o->state = x->state;
        o->queue = x->queue;
        o->leg = x->leg;
        o->talk = x->talk;
        o->ended = x->ended;
        o->until = x->until;
    }
    return ACD_OK;
}

const acd_kpi_wrap *acd_sim_kpi_wraps(const acd_sim *s, int64_t *n)
{
    if (!s || !n || !s->k.on)
        return NULL;
    *n = s->k.nw;
    return s->k.wraps;
}

int acd_sim_kpi_scalars(const acd_sim *s, int64_t *out, double *now)
{
    if (!s || !out || !now || !s->k.on)
        return ACD_EARG;
    out[0] = s->k.wrap_seq;
    out[1] = s->k.call_seq;
    out[2] = s->k.ignored;
    *now = s->k.now;
    return ACD_OK;
}
