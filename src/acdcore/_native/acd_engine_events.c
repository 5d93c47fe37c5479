/* acdcore native backend: the engine's event handlers (see acd_engine.h).
 *
 * Each is named after its Python reference (on_call_arrived and the others
 * in src/acdcore/_calls.py, _offers.py, _agents.py; Distributor.advance)
 * and does what it does, in the same order, for a distributor the engine
 * covers (acd_engine.h), using the mechanics of acd_engine_flow.c.
 *
 * Errors: every event validates its arguments and the states it reads
 * before changing anything, so a refused event changes nothing. An
 * allocation that fails mid-event (the only failure left) is recorded in
 * e->err; the event returns it, and the engine is then broken: every later
 * event or advance returns that code (its state is no longer the
 * reference's).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_engine_internal.h"

/* --------------------------------------------------------- event framing */

/* The checks every event makes first, in the façade's order: a finite
 * instant, not before the clock, no deadline due at or before it. */
static int prologue(const acd_engine *e, double now)
{
    if (!e)
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    if (!isfinite(now))
        return ACD_EARG;
    if (now < e->now)
        return ACD_EBACKWARDS;
    double due;
    if (acd_engine_next_deadline(e, &due) && due <= now)
        return ACD_EDUE;
    return ACD_OK;
}

static void begin(acd_engine *e, double now)
{
    e->sealed = 1;
    e->nact = 0;
    e->nhook = 0;
    e->err = 0;
    e->now = now;
}

/* The status block says what the engine now holds (acd_engine_status). */
void publish(acd_engine *e)
{
    acd_deadline top;
    e->status.nact = e->nact;
    e->status.nhook = e->nhook;
    e->status.has_due = acd_heap_peek(e->heap, &top) == 1;
    e->status.due = e->status.has_due ? top.when : 0.0;
}

/* The end of a step: surge modes, the estimators' samples after an event
 * (`event`; an advance samples after each deadline it fires instead), dead
 * deadlines dropped, the status published. */
static int settle(acd_engine *e, int event)
{
    if (e->nsurge && !e->err)
        update_surge(e);
    if (event && !e->err)
        hook_sample(e);
    drop_dead(e);
    publish(e);
    if (e->err) {
        e->broken = e->err;
        return e->err;
    }
    return ACD_OK;
}

static int conclude(acd_engine *e) { return settle(e, 1); }

/* An agent an event names: EINDEX, EUNKNOWN_AGENT (never logged in) or OK. */
static int known_agent(const acd_engine *e, int agent)
{
    if (agent < 0 || agent > ENGINE_MAX_AGENT)
        return ACD_EINDEX;
    if (agent >= e->na || !e->a[agent].profiled)
        return ACD_EUNKNOWN_AGENT;
    return ACD_OK;
}

/* ----------------------------------------------------------------- events */

/* Login's (and a loaded agent's) profile arguments: ACD_OK, or the code. */
static int profile_args(const acd_engine *e, int order, int nsk, const int *skill,
                        const int *level, const int *cap, unsigned excl, int nmem,
                        const int *mqueue, const double *mprio, const double *mdelay,
                        const double *mpos, const long long *mweight)
{
    if (nmem < 0 || nmem > e->nq || (nmem && (!mqueue || !mprio || !mdelay || !mpos || !mweight)))
        return ACD_EARG;
    for (int i = 0; i < nmem; i++)
        if (mqueue[i] < 0 || mqueue[i] >= e->nq)
            return ACD_EINDEX;
    if (order < 0 || nsk < 0 || nsk > (1 << 20) || (nsk && (!skill || !level)) || !cap ||
        excl >= (1u << ACD_NCH))
        return ACD_EARG;
    for (int i = 0; i < nsk; i++)
        if (skill[i] < 0 || skill[i] > (1 << 24) || level[i] < 0 || level[i] > 255)
            return ACD_EARG;
    for (int i = 0; i < ACD_NCH; i++)
        if (cap[i] < 0 || cap[i] > ENGINE_MAX_SESS)
            return ACD_EARG;
    for (int i = 0; i < nmem; i++) {
        if (isnan(mprio[i]) || isnan(mpos[i]) || !isfinite(mdelay[i]) || mdelay[i] < 0 ||
            mweight[i] < 1 || mweight[i] > ENGINE_MAX_WEIGHT)
            return ACD_EARG;
        for (int k = 0; k < i; k++)
            if (mqueue[k] == mqueue[i])
                return ACD_EARG;
    }
    return ACD_OK;
}

/* Check a profile and push it to the core as the agent's (login's scan
 * list: its own queues, each with its membership); ACD_OK, or a code with
 * nothing changed. The engine's own copy (cap, excl) is the caller's. */
int push_profile(acd_engine *e, int agent, int order, int region, int nsk, const int *skill,
                 const int *level, const int *cap, unsigned excl, int nmem, const int *mqueue,
                 const double *mprio, const double *mdelay, const double *mpos,
                 const long long *mweight)
{
    int rc = profile_args(e, order, nsk, skill, level, cap, excl, nmem, mqueue, mprio, mdelay,
                          mpos, mweight);
    if (rc)
        return rc;
    if (region < 0 || region > (1 << 24))
        return ACD_EARG;
    int room = nmem + e->nq;
    if (agent_reserve(e, agent) || tmp_reserve(e, 2 * room))
        return ACD_ENOMEM;
    eagent_t *a = &e->a[agent];
    int c1 = a->capsk, c2 = a->capsk;
    if (eng_grow((void **)&a->sk, &c1, nsk, sizeof *a->sk) ||
        eng_grow((void **)&a->lv, &c2, nsk, sizeof *a->lv))
        return ACD_ENOMEM;
    a->capsk = c1 < c2 ? c1 : c2;
    /* The queues it scans for work (_routing.scan_list): its own, in
     * profile order, then the queues borrowing each of them (plan steps
     * that add its queues), each once. */
    int *scanq = e->tmp, *scanmem = e->tmp + room, ns = 0;
    for (int i = 0; i < nmem; i++) {
        scanq[ns] = mqueue[i];
        scanmem[ns++] = i;
    }
    for (int i = 0; i < nmem; i++) {
        const equeue_t *q = &e->q[mqueue[i]];
        for (int b = 0; b < q->nborrow; b++) {
            int seen = 0;
            for (int k = 0; k < ns && !seen; k++)
                seen = scanq[k] == q->borrow[b];
            if (!seen) {
                scanq[ns] = q->borrow[b];
                scanmem[ns++] = -1;
            }
        }
    }
    rc = acd_agent_profile(e->core, agent, order, region, nsk, skill, level, cap, excl, nmem,
                           mqueue, mprio, mdelay, mpos, mweight, ns, scanq, scanmem);
    if (rc < 0)
        return rc;
    a->region = region; /* the engine's copy, for anyone_could_take */
    a->nsk = nsk;
    if (nsk) {
        memcpy(a->sk, skill, sizeof *a->sk * (size_t)nsk);
        memcpy(a->lv, level, sizeof *a->lv * (size_t)nsk);
    }
    return ACD_OK;
}

int acd_engine_login(acd_engine *e, double now, int agent, int order, int region, int nsk,
                     const int *skill,
                     const int *level, const int *cap, unsigned excl, int nmem,
                     const int *mqueue, const double *mprio, const double *mdelay,
                     const double *mpos, const long long *mweight)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    if (agent < 0 || agent > ENGINE_MAX_AGENT)
        return ACD_EINDEX;
    if (agent < e->na && e->a[agent].logged_in)
        return ACD_EAGENT_STATE;
    if (nmem >= 0 && nmem <= e->nq && (agent_reserve(e, agent) || mq_reserve(e, agent, nmem)))
        return ACD_ENOMEM;
    rc = push_profile(e, agent, order, region, nsk, skill, level, cap, excl, nmem, mqueue, mprio,
                      mdelay, mpos, mweight);
    if (rc)
        return rc; /* refused before anything changed */
    begin(e, now);
    eagent_t *a = &e->a[agent];
    a->profiled = 1;
    a->order = order;
    memcpy(a->cap, cap, sizeof a->cap);
    a->excl = excl;
    set_memberships(e, agent, nmem, mqueue); /* logged out: no count changes */
    a->logged_in = 1;
    for (int i = 0; i < nmem; i++)
        e->q[mqueue[i]].members++;
    a->paused = 0;
    a->pending_logout = 0;
    a->misses = 0;
    a->not_before = now;
    a->idle_since = now;
    staffing(e, agent);
    refresh(e, agent);
    route_agent(e, agent);
    return conclude(e);
}

int acd_engine_skills_changed(acd_engine *e, double now, int agent, int region, int nsk,
                              const int *skill,
                              const int *level, const int *cap, unsigned excl, int nmem,
                              const int *mqueue, const double *mprio, const double *mdelay,
                              const double *mpos, const long long *mweight)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    if ((rc = known_agent(e, agent)))
        return rc;
    eagent_t *a = &e->a[agent];
    if (tmp_reserve(e, a->nsess) || (nmem >= 0 && nmem <= e->nq && mq_reserve(e, agent, nmem)))
        return ACD_ENOMEM; /* first: push_profile must be the last refusal */
    rc = push_profile(e, agent, a->order, region, nsk, skill, level, cap, excl, nmem, mqueue,
                      mprio, mdelay, mpos, mweight);
    if (rc)
        return rc; /* refused before anything changed */
    a = &e->a[agent];
    begin(e, now);
    memcpy(a->cap, cap, sizeof a->cap);
    a->excl = excl;
    staff_changed(e, agent); /* its old queues' pools */
    set_memberships(e, agent, nmem, mqueue);
    staff_changed(e, agent); /* and its new ones' (_staff_gen: its skills changed) */
    if (!a->logged_in) {
        sync_agent(e, agent, 0); /* the core's view of it after a new profile */
        return conclude(e);
    }
    /* The ringing offers it no longer qualifies for, in session order. */
    int k = 0;
    for (int i = 0; i < a->nsess; i++) {
        if (a->sess[i].state != ES_RINGING)
            continue;
        int ci = call_find(e, a->sess[i].call);
        if (!meets(e, e->c[ci].cls, nsk, skill, level))
            e->tmp[k++] = ci;
    }
    int nback = 0;
    for (int i = 0; i < k; i++)
        if (withdraw(e, agent, e->tmp[i], ACD_R_SKILLS_CHANGED))
            e->tmp[nback++] = e->tmp[i];
    refresh(e, agent);
    for (int i = 0; i < nback && !e->err; i++)
        requeue(e, e->tmp[i], ACD_R_SKILLS_CHANGED);
    if (!e->err)
        route_agent(e, agent);
    return conclude(e);
}

int acd_engine_logout(acd_engine *e, double now, int agent)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    if ((rc = known_agent(e, agent)))
        return rc;
    eagent_t *a = &e->a[agent];
    if (!a->logged_in || a->pending_logout)
        return ACD_EAGENT_STATE;
    if (tmp_reserve(e, a->nsess))
        return ACD_ENOMEM;
    begin(e, now);
    /* The calls it rings for, in session order; those left ringing nobody
     * are kept (in place) to go back to their queues. */
    int k = 0;
    for (int i = 0; i < a->nsess; i++)
        if (a->sess[i].state == ES_RINGING)
            e->tmp[k++] = call_find(e, a->sess[i].call);
    int nback = 0;
    for (int i = 0; i < k; i++)
        if (withdraw(e, agent, e->tmp[i], ACD_R_AGENT_LOGGED_OUT))
            e->tmp[nback++] = e->tmp[i];
    end_wrapups(a);
    if (a->nsess) {
        a->pending_logout = 1;
        staffing(e, agent);
        refresh(e, agent);
    } else {
        complete_logout(e, agent);
    }
    for (int i = 0; i < nback && !e->err; i++)
        requeue(e, e->tmp[i], ACD_R_AGENT_LOGGED_OUT);
    return conclude(e);
}

int acd_engine_pause(acd_engine *e, double now, int agent)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    if ((rc = known_agent(e, agent)))
        return rc;
    if (!e->a[agent].logged_in)
        return ACD_EAGENT_STATE;
    begin(e, now);
    e->a[agent].paused = 1;
    staffing(e, agent);
    refresh(e, agent);
    return conclude(e);
}

int acd_engine_resume(acd_engine *e, double now, int agent)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    if ((rc = known_agent(e, agent)))
        return rc;
    eagent_t *a = &e->a[agent];
    if (!a->paused || !a->logged_in)
        return ACD_EAGENT_STATE;
    begin(e, now);
    a->paused = 0;
    a->misses = 0;
    staffing(e, agent);
    refresh(e, agent);
    route_agent(e, agent);
    return conclude(e);
}

/* An arrival, with no relaxation table (nst 0: the one plain stage, class
 * cls) or with one (nst stages: stage_cls, expires; cls unused); a
 * preferred agent's reservation lasts preferred_wait seconds (NAN: the
 * queue's preferred_wait). */
static int64_t arrive(acd_engine *e, double now, int queue, int cls, const double *key,
                      int preferred, double preferred_wait, int nst, const int *stage_cls,
                      const double *expires, const unsigned char *skip)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    if (!isnan(preferred_wait) && (!isfinite(preferred_wait) || preferred_wait < 0))
        return ACD_EARG;
    if (nst > 0)
        cls = stage_cls ? stage_cls[0] : -1;
    if (queue < 0 || queue >= e->nq || cls < 0 || cls >= e->ncls || preferred < -1 ||
        preferred > ENGINE_MAX_AGENT)
        return ACD_EINDEX;
    if (!key)
        return ACD_EARG;
    for (int i = 0; i < ACD_KEYLEN; i++)
        if (isnan(key[i]))
            return ACD_EARG;
    if (nst > 0) {
        rc = stages_valid(e, e->cls[cls].channel, nst, stage_cls, expires);
        if (rc)
            return rc;
    }
    const equeue_t *q = &e->q[queue];
    if (q->max_length >= 0 && acd_oq_len(q->waiting) >= q->max_length) {
        begin(e, now);
        int64_t seq = e->next_seq++;
        e->rejected++;
        emit(e, ACD_A_REJECT, ACD_R_QUEUE_FULL, seq, -1, queue, 0, 0.0, 0.0);
        rc = conclude(e);
        return rc ? rc : seq;
    }
    if (call_reserve(e))
        return ACD_ENOMEM;
    begin(e, now);
    int64_t seq = e->next_seq++;
    int ci = call_new(e, seq);
    ecall_t *c = &e->c[ci];
    c->queue = queue;
    c->cls = cls;
    c->channel = e->cls[cls].channel;
    memcpy(c->key, key, sizeof c->key);
    c->arrived = c->entered = now;
    c->preferred = preferred;
    if (preferred >= 0) {
        double wait = isnan(preferred_wait) ? q->preferred_wait : preferred_wait;
        c->preferred_until = c->entered + wait;
    }
    if (nst > 0) { /* _calls.start_stages, before the call is queued */
        if (stages_set(e, ci, nst, stage_cls, expires, skip)) {
            e->err = ACD_ENOMEM;
        } else {
            enter_stage(e, ci, 0);
        }
    }
    if (!e->err)
        enter(e, ci, ACD_R_ARRIVED); /* _queueing.enter: enqueue, route_call */
    rc = conclude(e);
    return rc ? rc : seq;
}

int64_t acd_engine_arrive(acd_engine *e, double now, int queue, int cls, const double *key,
                          int preferred)
{
    return arrive(e, now, queue, cls, key, preferred, NAN, 0, NULL, NULL, NULL);
}

int64_t acd_engine_arrive_staged(acd_engine *e, double now, int queue, const double *key,
                                 int preferred, int nst, const int *cls, const double *expires)
{
    if (nst < 1)
        return ACD_EARG;
    return arrive(e, now, queue, -1, key, preferred, NAN, nst, cls, expires, NULL);
}

int64_t acd_engine_arrive_planned(acd_engine *e, double now, int queue, const double *key,
                                  int preferred, double preferred_wait, int nst, const int *cls,
                                  const double *expires, const unsigned char *skip)
{
    if (nst < 0 || (nst == 0 && !cls))
        return ACD_EARG;
    if (nst == 0)
        return arrive(e, now, queue, cls[0], key, preferred, preferred_wait, 0, NULL, NULL, NULL);
    return arrive(e, now, queue, -1, key, preferred, preferred_wait, nst, cls, expires, skip);
}

/* _offers.release_offers: every offer of call ci ends through no fault
 * of the agents (no miss), each a CancelOffer with reason; the agents
 * freed are left in e->tmp (which must have room for them), their number
 * returned, to be rerouted once the call is settled. */
int release_offers(acd_engine *e, int ci, int reason)
{
    ecall_t *c = &e->c[ci];
    int n = c->noffers;
    memcpy(e->tmp, offers_of(c), sizeof *e->tmp * (size_t)n);
    for (int i = 0; i < n; i++) {
        sess_del(&e->a[e->tmp[i]], c->seq);
        emit(e, ACD_A_CANCEL, reason, c->seq, e->tmp[i], -1, 0, 0.0, 0.0);
    }
    c->noffers = 0;
    c->inmany = 0;
    return n;
}

/* _offers.reroute: the n agents in e->tmp, released from offers, take
 * their next calls. */
void reroute(acd_engine *e, int n)
{
    for (int i = 0; i < n && !e->err; i++) {
        refresh(e, e->tmp[i]);
        route_agent(e, e->tmp[i]);
    }
}

/* An event's call and agent, and whether that agent's offer of it rings. */
static int outstanding_offer(const acd_engine *e, int64_t call, int agent, int *out_ci)
{
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    int rc = known_agent(e, agent);
    if (rc)
        return rc;
    const ecall_t *c = &e->c[ci];
    if (c->state != ACD_C_RINGING)
        return ACD_ENO_OFFER;
    const int *o = c->inmany ? c->many : &c->one;
    for (int i = 0; i < c->noffers; i++)
        if (o[i] == agent) {
            *out_ci = ci;
            return ACD_OK;
        }
    return ACD_ENO_OFFER;
}

int64_t acd_engine_exit(acd_engine *e, double now, int outcome)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    if (outcome < ACD_O_REJECTED || outcome > ACD_O_SELF_SERVICE)
        return ACD_EARG;
    begin(e, now);
    int64_t seq = e->next_seq++;
    if (outcome == ACD_O_REJECTED)
        e->rejected++;
    else if (outcome == ACD_O_OVERFLOWED)
        e->overflowed++;
    else
        e->self_service++;
    rc = conclude(e);
    return rc ? rc : seq;
}

int acd_engine_abandon(acd_engine *e, double now, int64_t call)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    ecall_t *c = &e->c[ci];
    if (c->state == ACD_C_CONNECTED || c->callback) /* a callback's caller is not on the line */
        return ACD_ECALL_STATE;
    if (tmp_reserve(e, c->noffers))
        return ACD_ENOMEM;
    begin(e, now);
    int n = 0;
    if (c->state == ACD_C_WAITING) {
        dequeue(e, ci);
        hook(e, ACD_H_ABANDONED, c->seq, c->queue, now - c->entered);
    } else {
        hook(e, ACD_H_LEFT, c->seq, c->queue, 0.0);
        n = release_offers(e, ci, ACD_R_CALLER_ABANDONED);
    }
    finish(e, ci, &e->abandoned);
    reroute(e, n);
    return conclude(e);
}

int acd_engine_answer(acd_engine *e, double now, int64_t call, int agent)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    int ci;
    if ((rc = outstanding_offer(e, call, agent, &ci)))
        return rc;
    ecall_t *c = &e->c[ci];
    if (tmp_reserve(e, c->noffers))
        return ACD_ENOMEM;
    begin(e, now);
    int n = 0;
    const int *o = offers_of(c);
    for (int i = 0; i < c->noffers; i++)
        if (o[i] != agent)
            e->tmp[n++] = o[i];
    c->noffers = 0;
    c->inmany = 0;
    c->state = ACD_C_CONNECTED;
    c->agent = agent;
    c->answered_at = now;
    c->ring_round++;
    if (c->callback)
        hook(e, ACD_H_LEFT, c->seq, c->queue, 0.0);
    else
        hook(e, ACD_H_ANSWERED, c->seq, c->queue, now - c->entered);
    c->callback = 0; /* the customer is on the line now */
    if (c->st)
        c->st->timer = -1; /* a connected call's steps no longer matter (transfers restart them) */
    eagent_t *a = &e->a[agent];
    a->sess[sess_index(a, c->seq)].state = ES_CONNECTED;
    a->calls_taken += 1;
    a->misses = 0;
    record_answer(e, agent, 1);
    refresh(e, agent);
    for (int i = 0; i < n; i++) {
        sess_del(&e->a[e->tmp[i]], c->seq);
        emit(e, ACD_A_CANCEL, ACD_R_ANSWERED_ELSEWHERE, c->seq, e->tmp[i], -1, 0, 0.0, 0.0);
    }
    reroute(e, n);
    return conclude(e);
}

int acd_engine_decline(acd_engine *e, double now, int64_t call, int agent)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    int ci;
    if ((rc = outstanding_offer(e, call, agent, &ci)))
        return rc;
    begin(e, now);
    ecall_t *c = &e->c[ci];
    offers_remove(c, agent);
    sess_del(&e->a[agent], c->seq);
    miss(e, agent, c->queue);
    if (!c->noffers) {
        c->inmany = 0;
        c->ring_round++;
        requeue(e, ci, ACD_R_DECLINED);
    }
    route_agent(e, agent);
    return conclude(e);
}

/* _experience.apply_callback_requested: a waiting call of a callback
 * queue becomes a callback, keeping its place; its announcements and its
 * maximum wait's deadline die. */
int acd_engine_callback_requested(acd_engine *e, double now, int64_t call)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    ecall_t *c = &e->c[ci];
    if (c->callback || c->state != ACD_C_WAITING || !e->q[c->queue].cb)
        return ACD_ECALL_STATE;
    if (plan_table(e, ci)) /* (room for its attempts; an empty table is none) */
        return ACD_ENOMEM;
    begin(e, now);
    c->callback = 1;
    call_ann_clear(c);
    call_mw_clear(c);
    return conclude(e);
}

int acd_engine_callback_unanswered(acd_engine *e, double now, int64_t call)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    if (!e->c[ci].callback || e->c[ci].state != ACD_C_RINGING)
        return ACD_ECALL_STATE;
    if (tmp_reserve(e, e->c[ci].noffers))
        return ACD_ENOMEM;
    begin(e, now);
    callback_unanswered(e, ci);
    return conclude(e);
}

/* _experience.apply_callback_cancelled. */
int acd_engine_callback_cancelled(acd_engine *e, double now, int64_t call)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    ecall_t *c = &e->c[ci];
    if (!c->callback)
        return ACD_ECALL_STATE;
    if (tmp_reserve(e, c->noffers))
        return ACD_ENOMEM;
    begin(e, now);
    if (c->state == ACD_C_WAITING)
        dequeue(e, ci);
    int n = release_offers(e, ci, ACD_R_CALLBACK_CANCELLED);
    hook(e, ACD_H_LEFT, c->seq, c->queue, 0.0);
    finish(e, ci, &e->callback_cancelled);
    reroute(e, n);
    return conclude(e);
}

int acd_engine_end(acd_engine *e, double now, int64_t call)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    const ecall_t *c = &e->c[ci];
    if (c->state != ACD_C_CONNECTED)
        return ACD_ECALL_STATE;
    begin(e, now);
    int ai = c->agent;
    double answered_at = c->answered_at, offered_at = c->offered_at;
    finish(e, ci, &e->completed);
    release_agent(e, ai, call, answered_at, offered_at);
    return conclude(e);
}

/* _calls.apply_call_transferred: release the agent, move, enter. */
int acd_engine_transfer(acd_engine *e, double now, int64_t call, int queue, int cls,
                        const double *key, int keep_arrival)
{
    int rc = prologue(e, now);
    if (rc)
        return rc;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    if (e->c[ci].state != ACD_C_CONNECTED)
        return ACD_ECALL_STATE;
    if (queue < 0 || queue >= e->nq || cls < 0 || cls >= e->ncls)
        return ACD_EINDEX;
    if (!key)
        return ACD_EARG;
    for (int i = 0; i < ACD_KEYLEN; i++)
        if (isnan(key[i]))
            return ACD_EARG;
    begin(e, now);
    release_agent(e, e->c[ci].agent, call, e->c[ci].answered_at, e->c[ci].offered_at);
    ecall_t *c = &e->c[ci];
    c->agent = -1;
    c->answered_at = 0.0;
    /* _queueing.move: new queue, key and class; no preferred agent. */
    if (!keep_arrival)
        c->arrived = now;
    c->queue = queue;
    c->entered = now;
    memcpy(c->key, key, sizeof c->key);
    c->preferred = -1;
    c->cls = cls;
    c->channel = (unsigned char)e->cls[cls].channel;
    stages_clear(c); /* one plain stage: its deadline, if any, dies */
    call_mw_clear(c); /* the new queue's own maximum wait applies */
    if (call_moves(c))
        c->st->mv->n = 0; /* its moves were from its old place: the façade gives new ones */
    enter(e, ci, ACD_R_TRANSFERRED); /* _queueing.enter: enqueue, route_call */
    return conclude(e);
}

int acd_engine_advance(acd_engine *e, double now)
{
    if (!e)
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    if (!isfinite(now))
        return ACD_EARG;
    if (now < e->now)
        return ACD_EBACKWARDS;
    e->sealed = 1;
    e->nact = 0;
    e->nhook = 0;
    e->err = 0;
    acd_deadline d;
    while (!e->err && acd_heap_peek(e->heap, &d) == 1 && d.when <= now) {
        acd_heap_pop(e->heap, &d);
        if (!timer_live(e, &d))
            continue;
        e->now = d.when;
        fire(e, &d);
        if (e->nsurge && !e->err)
            update_surge(e);
        if (!e->err)
            hook_sample(e);
    }
    e->now = now;
    return settle(e, 0);
}

int acd_engine_name_agent(acd_engine *e, int agent)
{
    if (!e)
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    if (agent < 0 || agent > ENGINE_MAX_AGENT)
        return ACD_EINDEX;
    return agent_reserve(e, agent);
}
