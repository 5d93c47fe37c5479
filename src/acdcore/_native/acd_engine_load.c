/* acdcore native backend: a saved state loaded into a fresh engine
 * (acd_engine.h, "load"), so that a distributor restored from a snapshot
 * runs on the engine as the one saved did.
 *
 * Each function checks what it is given and refuses (a negative code) what
 * the export could not have produced; acd_engine_load_finish then checks
 * every invariant across the whole (acd_engine_check), and the façade
 * compares the saved document the loaded engine gives with the one the
 * restored records give before it uses the engine. Costs: an agent
 * O(profile), a session O(1) amortized, a call O(offers), a deadline
 * O(log d); finish O(agents + c log c) for c waiting calls.
 */
#include <math.h>
#include <string.h>

#include "acd_engine_internal.h"

static int open_for_load(const acd_engine *e)
{
    if (!e)
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    return e->sealed ? ACD_ESTATE : ACD_OK;
}

static int finite(double x) { return isfinite(x) != 0; }

int acd_engine_load_agent(acd_engine *e, int agent, const acd_agent_export *x, int nsk,
                          const int *skill, const int *level, const int *cap, unsigned excl,
                          int nmem, const int *mqueue, const double *mprio, const double *mdelay,
                          const double *mpos, const long long *mweight)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    if (agent < 0 || agent > ENGINE_MAX_AGENT)
        return ACD_EINDEX;
    if (!x || !x->profiled || x->misses < 0 ||
        !finite(x->not_before) || !finite(x->idle_since) || !finite(x->talk_time) ||
        !finite(x->calls_taken) || (x->has_last_end && !finite(x->last_call_end)) ||
        (x->has_wake && !finite(x->wake_at)) || (!x->logged_in && (x->paused || x->pending_logout)))
        return ACD_EARG;
    if (agent < e->na && e->a[agent].profiled)
        return ACD_ESTATE;
    if (nmem >= 0 && nmem <= e->nq && (agent_reserve(e, agent) || mq_reserve(e, agent, nmem)))
        return ACD_ENOMEM;
    rc = push_profile(e, agent, x->order, x->region, nsk, skill, level, cap, excl, nmem, mqueue,
                      mprio, mdelay, mpos, mweight);
    if (rc)
        return rc;
    eagent_t *a = &e->a[agent];
    a->profiled = 1;
    a->order = x->order;
    memcpy(a->cap, cap, sizeof a->cap);
    a->excl = excl;
    set_memberships(e, agent, nmem, mqueue); /* not logged in yet: no counts */
    a->logged_in = x->logged_in != 0;
    for (int i = 0; a->logged_in && i < nmem; i++)
        e->q[mqueue[i]].members++;
    a->paused = x->paused != 0;
    a->pending_logout = x->pending_logout != 0;
    staffing(e, agent); /* (its queues' staffed counts) */
    a->misses = x->misses;
    a->not_before = x->not_before;
    a->idle_since = x->idle_since;
    a->talk_time = x->talk_time;
    a->has_last_end = x->has_last_end != 0;
    a->last_call_end = x->has_last_end ? x->last_call_end : 0.0;
    a->calls_taken = x->calls_taken;
    a->has_wake = x->has_wake != 0;
    a->wake_at = x->has_wake ? x->wake_at : 0.0;
    a->wake_timer = x->wake_timer;
    a->nsess = 0;
    return ACD_OK;
}

int acd_engine_load_session(acd_engine *e, int agent, const acd_session_export *s,
                            int64_t wrap_tseq)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    if (agent < 0 || agent >= e->na || !e->a[agent].profiled)
        return ACD_EINDEX;
    if (!s || s->call < 0 || s->channel < 0 || s->channel >= ACD_NCH || s->queue < 0 ||
        s->queue >= e->nq || s->state < ES_RINGING || s->state > ES_WRAP ||
        (s->state == ES_WRAP && (!finite(s->until) || wrap_tseq < 0)))
        return ACD_EARG;
    eagent_t *a = &e->a[agent];
    if (sess_index(a, s->call) >= 0)
        return ACD_ESTATE;
    if (a->nsess >= ENGINE_MAX_SESS ||
        eng_grow((void **)&a->sess, &a->capsess, a->nsess + 1, sizeof *a->sess))
        return ACD_ENOMEM;
    esess_t *t = &a->sess[a->nsess++];
    t->call = s->call;
    t->channel = s->channel;
    t->queue = s->queue;
    t->state = s->state;
    t->wrap_tseq = s->state == ES_WRAP ? wrap_tseq : -1;
    t->until = s->state == ES_WRAP ? s->until : 0.0;
    return ACD_OK;
}

int acd_engine_load_call(acd_engine *e, const acd_call_export *x, int cls, const double *key,
                         const int *offers)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    if (!x || !key || x->seq < 0 || x->queue < 0 || x->queue >= e->nq || cls < 0 ||
        cls >= e->ncls || x->state < ACD_C_WAITING || x->state > ACD_C_PENDING ||
        (x->callback != 0 && x->callback != 1) || x->attempts < 0 ||
        (x->state == ACD_C_PENDING && !x->callback) ||
        (x->callback && x->state == ACD_C_CONNECTED) ||
        x->preferred < -1 || x->preferred >= e->na || x->noffers < 0 ||
        (x->noffers > 0 && !offers) || (x->state == ACD_C_RINGING) != (x->noffers > 0) ||
        (x->state == ACD_C_CONNECTED) != (x->agent >= 0) || x->agent >= e->na ||
        !finite(x->arrived) || !finite(x->entered) || !finite(x->offered_at) ||
        !finite(x->preferred_until) || (x->has_answered && !finite(x->answered_at)) ||
        (x->has_recheck && !finite(x->recheck_at)) || x->max_wait_timer < -1 ||
        x->announce_timer < -1 || (x->announce_timer >= 0 && !finite(x->next_announce)) ||
        (x->heard != 0 && x->heard != 1))
        return ACD_EARG;
    for (int i = 0; i < ACD_KEYLEN; i++)
        if (isnan(key[i]))
            return ACD_EARG;
    for (int i = 0; i < x->noffers; i++)
        if (offers[i] < 0 || offers[i] >= e->na || !e->a[offers[i]].profiled)
            return ACD_EINDEX;
    if (call_find(e, x->seq) >= 0)
        return ACD_ESTATE;
    if (call_reserve(e))
        return ACD_ENOMEM;
    int ci = call_new(e, x->seq);
    ecall_t *c = &e->c[ci];
    c->queue = x->queue;
    c->cls = cls;
    c->channel = (unsigned char)e->cls[cls].channel;
    memcpy(c->key, key, sizeof c->key);
    c->state = (unsigned char)x->state;
    c->arrived = x->arrived;
    c->entered = x->entered;
    c->preferred = x->preferred;
    c->preferred_until = x->preferred_until;
    c->offered_at = x->offered_at;
    c->answered_at = x->has_answered ? x->answered_at : 0.0;
    c->ring_round = x->ring_round;
    c->has_recheck = x->has_recheck != 0;
    c->recheck_at = x->has_recheck ? x->recheck_at : 0.0;
    c->recheck_timer = x->recheck_timer;
    if (x->max_wait_timer >= 0) {
        if (plan_table(e, ci)) {
            call_delete(e, ci);
            return ACD_ENOMEM;
        }
        c->st->mw_timer = x->max_wait_timer;
    }
    c->callback = (unsigned char)x->callback;
    if (x->announce_timer >= 0 || x->heard || x->attempts || x->callback) {
        if (plan_table(e, ci)) {
            call_delete(e, ci);
            return ACD_ENOMEM;
        }
        c->st->ann_timer = x->announce_timer;
        c->st->next_ann = x->announce_timer >= 0 ? x->next_announce : 0.0;
        c->st->heard = x->heard;
        c->st->attempts = x->attempts;
    }
    c->agent = x->agent;
    e->err = 0;
    set_offers(e, c, offers, x->noffers);
    if (e->err) {
        e->broken = e->err;
        return e->err;
    }
    return ACD_OK;
}

int acd_engine_load_stages(acd_engine *e, int64_t call, int nst, const int *cls,
                           const double *expires, const unsigned char *skip, int stage,
                           int64_t stage_timer)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    ecall_t *c = &e->c[ci];
    if (call_nst(c) > 0)
        return ACD_ESTATE;
    rc = stages_valid(e, c->channel, nst, cls, expires);
    if (rc)
        return rc;
    if (stage < 0 || stage >= nst || cls[stage] != c->cls || stage_timer < -1 ||
        (stage == nst - 1 && stage_timer >= 0))
        return ACD_EARG;
    if (stages_set(e, ci, nst, cls, expires, skip))
        return ACD_ENOMEM;
    c->st->cur = stage;
    c->st->timer = stage_timer;
    return ACD_OK;
}

int acd_engine_load_queue(acd_engine *e, int queue, int rr_last)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    if (rr_last < -1)
        return ACD_EARG;
    e->q[queue].rr_last = rr_last;
    return ACD_OK;
}

int acd_engine_load_answers(acd_engine *e, int agent, int n, const unsigned char *answers)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    if (agent < 0 || agent >= e->na || !e->a[agent].profiled)
        return ACD_EINDEX;
    if (n < 0 || n > e->guard_window || (n && !answers) || e->a[agent].ans_n)
        return ACD_EARG;
    for (int i = 0; i < n; i++)
        if (answers[i] > 1)
            return ACD_EARG;
    e->err = 0;
    for (int i = 0; i < n && !e->err; i++)
        record_answer(e, agent, answers[i]);
    if (e->err) {
        e->broken = e->err;
        return e->err;
    }
    return ACD_OK;
}

int acd_engine_load_surge(acd_engine *e, int queue, int active)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    if (active != 0 && active != 1)
        return ACD_EARG;
    int has = 0;
    for (int i = 0; i < e->nsurge; i++)
        has |= e->surgeq[i] == queue;
    if (active && !has)
        return ACD_EARG;
    e->q[queue].surge = active;
    return ACD_OK;
}

int acd_engine_load_sampled(acd_engine *e, int queue, int waiting, int staffed)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    if (waiting < -1 || staffed < -1)
        return ACD_EARG;
    e->q[queue].s_wait = waiting;
    e->q[queue].s_staff = staffed;
    return ACD_OK;
}

int acd_engine_load_deadline(acd_engine *e, const acd_deadline *d)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    if (!d || !finite(d->when) || d->kind < EK_RING || d->kind > EK_RETRY || d->ref < 0)
        return ACD_EARG;
    /* Numbered as it was: in increasing order, each above those held. */
    rc = acd_heap_set_next_seq(e->heap, d->seq);
    if (rc < 0)
        return rc;
    int64_t got = acd_heap_push(e->heap, d->when, d->kind, d->ref, d->token);
    return got < 0 ? (int)got : ACD_OK;
}

int acd_engine_load_finish(acd_engine *e, const acd_engine_scalars *s)
{
    int rc = open_for_load(e);
    if (rc)
        return rc;
    if (!s || !finite(s->now) || s->timer_seq < 0 || s->call_seq < 0 || s->completed < 0 ||
        s->abandoned < 0 || s->rejected < 0 || s->overflowed < 0 || s->self_service < 0 ||
        s->callback_failed < 0 || s->callback_cancelled < 0)
        return ACD_EARG;
    for (int ci = 0; ci < e->nc; ci++)
        if (e->c[ci].used && e->c[ci].seq >= s->call_seq)
            return ACD_EARG; /* a call numbered past the counter */
    rc = acd_heap_set_next_seq(e->heap, s->timer_seq);
    if (rc < 0)
        return rc;
    e->sealed = 1;
    e->now = s->now;
    e->next_seq = s->call_seq;
    e->completed = s->completed;
    e->abandoned = s->abandoned;
    e->rejected = s->rejected;
    e->overflowed = s->overflowed;
    e->self_service = s->self_service;
    e->callback_failed = s->callback_failed;
    e->callback_cancelled = s->callback_cancelled;
    e->err = 0;
    e->nact = 0;
    for (int ai = 0; ai < e->na && !e->err; ai++)
        if (e->a[ai].profiled)
            sync_agent(e, ai, agent_available(&e->a[ai], e->now));
    for (int ci = 0; ci < e->nc && !e->err; ci++)
        if (e->c[ci].used && e->c[ci].state == ACD_C_WAITING)
            enqueue_place(e, ci, 0); /* its max-wait deadline, if any, was loaded */
    e->nact = 0; /* enqueue's Queued actions: not news, the saved state */
    if (e->err) {
        e->broken = e->err;
        return e->err;
    }
    drop_dead(e);
    publish(e);
    rc = acd_engine_check(e);
    if (rc) {
        e->broken = rc;
        return rc;
    }
    return ACD_OK;
}
