/* acdcore native backend: the engine's state read out whole (acd_engine.h,
 * "export"), for the façade to rebuild the reference's records from
 * (src/acdcore/_materialize.py), so that views, snapshot() and check() read
 * the engine through the same code as the Python handlers' records.
 *
 * Every function is a pure read. List functions copy at most max items and
 * return the full count. Costs: calls O(c log c) (sorted by sequence
 * number), an agent's sessions O(s), a queue's free list O(f), deadlines
 * O(d) for d held (dead ones are skipped).
 */
#include <stdlib.h>

#include "acd_engine_internal.h"

int acd_engine_scalars_get(const acd_engine *e, acd_engine_scalars *out)
{
    if (!e || !out)
        return ACD_EARG;
    out->now = e->now;
    out->timer_seq = acd_heap_next_seq(e->heap);
    out->call_seq = e->next_seq;
    out->completed = e->completed;
    out->abandoned = e->abandoned;
    out->rejected = e->rejected;
    out->overflowed = e->overflowed;
    out->self_service = e->self_service;
    out->callback_failed = e->callback_failed;
    out->callback_cancelled = e->callback_cancelled;
    out->live = e->live;
    return ACD_OK;
}

static int by_seq(const void *x, const void *y)
{
    int64_t a = ((const acd_call_export *)x)->seq, b = ((const acd_call_export *)y)->seq;
    return (a > b) - (a < b);
}

static void fill_call(const ecall_t *c, acd_call_export *x)
{
    x->seq = c->seq;
    x->state = c->state;
    x->queue = c->queue;
    x->agent = c->agent;
    x->noffers = c->noffers;
    x->preferred = c->preferred;
    x->has_answered = c->state == ACD_C_CONNECTED;
    x->has_recheck = c->has_recheck;
    x->ring_round = c->ring_round;
    x->recheck_timer = c->recheck_timer;
    x->arrived = c->arrived;
    x->entered = c->entered;
    x->offered_at = c->offered_at;
    x->answered_at = x->has_answered ? c->answered_at : 0.0;
    x->preferred_until = c->preferred_until;
    x->recheck_at = c->has_recheck ? c->recheck_at : 0.0;
    x->nstages = call_nst(c);
    x->stage = call_stage(c);
    x->stage_timer = call_stage_timer(c);
    x->max_wait_timer = call_mw_timer(c);
    x->announce_timer = call_ann_timer(c);
    x->next_announce = x->announce_timer >= 0 ? c->st->next_ann : 0.0;
    x->heard = call_heard(c);
    x->callback = c->callback;
    x->attempts = call_attempts(c);
}

int acd_engine_export_calls(const acd_engine *e, acd_call_export *out, int max)
{
    if (!e || max < 0 || (max > 0 && !out))
        return ACD_EARG;
    if (max < e->live)
        return e->live;
    int n = 0;
    for (int ci = 0; ci < e->nc; ci++) {
        const ecall_t *c = &e->c[ci];
        if (!c->used)
            continue;
        if (n >= max) /* never: live counts the used entries (check() verifies) */
            return ACD_ESTATE;
        fill_call(c, &out[n++]);
    }
    if (n > 1) /* out may be NULL when there is nothing to sort */
        qsort(out, (size_t)n, sizeof *out, by_seq);
    return n;
}

int acd_engine_export_call(const acd_engine *e, int64_t call, acd_call_export *out)
{
    if (!e || !out)
        return ACD_EARG;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    fill_call(&e->c[ci], out);
    return ACD_OK;
}

int acd_engine_call_position(const acd_engine *e, int64_t call)
{
    if (!e)
        return ACD_EARG;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    const ecall_t *c = &e->c[ci];
    if (c->state != ACD_C_WAITING || c->oqh < 0)
        return 0;
    int i = acd_oq_index(e->q[c->queue].waiting, c->oqh);
    return i < 0 ? i : i + 1;
}

int acd_engine_call_offers(const acd_engine *e, int64_t call, int *agents, int max)
{
    if (!e || max < 0 || (max > 0 && !agents))
        return ACD_EARG;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    ecall_t *c = &e->c[ci];
    const int *offers = offers_of(c);
    for (int i = 0; i < c->noffers && i < max; i++)
        agents[i] = offers[i];
    return c->noffers;
}

int acd_engine_nagents(const acd_engine *e) { return e ? e->na : ACD_EARG; }

int acd_engine_export_agent(const acd_engine *e, int agent, acd_agent_export *out)
{
    if (!e || !out)
        return ACD_EARG;
    if (agent < 0 || agent >= e->na)
        return ACD_EINDEX;
    const eagent_t *a = &e->a[agent];
    out->profiled = a->profiled;
    out->order = a->order;
    out->region = a->region;
    out->logged_in = a->logged_in;
    out->paused = a->paused;
    out->pending_logout = a->pending_logout;
    out->misses = a->misses;
    out->nsess = a->nsess;
    out->has_wake = a->has_wake;
    out->has_last_end = a->has_last_end;
    out->wake_timer = a->wake_timer;
    out->not_before = a->not_before;
    out->idle_since = a->idle_since;
    out->talk_time = a->talk_time;
    out->last_call_end = a->has_last_end ? a->last_call_end : 0.0;
    out->calls_taken = a->calls_taken;
    out->wake_at = a->has_wake ? a->wake_at : 0.0;
    return ACD_OK;
}

int acd_engine_export_sessions(const acd_engine *e, int agent, acd_session_export *out, int max)
{
    if (!e || max < 0 || (max > 0 && !out))
        return ACD_EARG;
    if (agent < 0 || agent >= e->na)
        return ACD_EINDEX;
    const eagent_t *a = &e->a[agent];
    for (int i = 0; i < a->nsess && i < max; i++) {
        const esess_t *s = &a->sess[i];
        out[i].call = s->call;
        out[i].channel = s->channel;
        out[i].queue = s->queue;
        out[i].state = s->state;
        out[i].until = s->state == ES_WRAP ? s->until : 0.0;
    }
    return a->nsess;
}

int acd_engine_queue_free(const acd_engine *e, int queue, int *rr_last, int *agents, int max)
{
    if (!e || !rr_last || max < 0 || (max > 0 && !agents))
        return ACD_EARG;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    *rr_last = e->q[queue].rr_last;
    int n = acd_queue_nfree(e->core, queue);
    if (n < 0)
        return n;
    for (int i = 0; i < n && i < max; i++)
        agents[i] = acd_queue_free_at(e->core, queue, i);
    return n;
}

int acd_engine_export_deadlines(const acd_engine *e, acd_deadline *out, int max)
{
    if (!e || max < 0 || (max > 0 && !out))
        return ACD_EARG;
    int held = acd_heap_len(e->heap);
    if (held < 0)
        return held;
    acd_deadline *all = malloc(sizeof *all * (size_t)(held ? held : 1));
    if (!all)
        return ACD_ENOMEM;
    acd_heap_entries(e->heap, all, held);
    int n = 0;
    for (int i = 0; i < held; i++) {
        if (!timer_live(e, &all[i]))
            continue;
        if (n < max)
            out[n] = all[i];
        n++;
    }
    free(all);
    return n;
}
