/* acdcore native backend: the engine's mechanics (see acd_engine.h), shared
 * by the handlers in acd_engine_events.c: actions, deadlines (after,
 * schedule, wake-ups, rechecks, dropping dead ones, firing), sessions, the
 * agent's sync to the core (refresh), queueing, offers, misses and
 * withdrawals, and routing (the core's decisions, then router.draw's).
 *
 * Each function is named after its Python reference and does what it does,
 * in the same order (the estimators' hooks among them: acd_engine_hooks.c),
 * for any distributor (announcements' timing and callbacks are in
 * acd_engine_experience.c), with a plan as far as distributor._plan_covered
 * allows:
 *
 *   _deadlines.py  after, schedule, wake_agent, recheck_call, drop_dead
 *                  (drop_dead_timers), fire;
 *   _agents.py     refresh, complete_logout (with the leave-empty exits),
 *                  end_wrapups;
 *   _queueing.py   enqueue, dequeue, enter, requeue, finish, and a plan's
 *                  queue exits: exit_waiting, exit_or_move
 *                  (exit_outcome_or_move, with move);
 *   _routing.py    route_call (the core, then router.draw), route_agent;
 *   _offers.py     offer, miss, withdraw, release_agent.
 *
 * A routing plan's relaxation stages are acd_engine_stages.c's.
 *
 * A failure here (an allocation, or a core call refusing what the engine
 * checked) is recorded in e->err (fail) and ends the running event.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_engine_internal.h"

/* ------------------------------------------------------------ mechanics */

void fail(acd_engine *e, int rc)
{
    if (!e->err)
        e->err = rc < 0 ? rc : ACD_ESTATE;
}

/* router.draw's rng.randrange(n): from the caller's draw function when set,
 * else from the engine's own generator. */
static int draw_below(acd_engine *e, uint64_t n, uint64_t *r)
{
    if (e->draw) {
        if (e->draw(e->draw_ctx, n, r) != 0 || *r >= n)
            return ACD_ESTATE;
        return ACD_OK;
    }
    return acd_rng_randbelow(&e->rng, n, r);
}

void emit(acd_engine *e, int kind, int reason, int64_t call, int agent, int queue,
                 int64_t n, double x, double y)
{
    if (eng_grow((void **)&e->act, &e->capact, e->nact + 1, sizeof *e->act)) {
        fail(e, ACD_ENOMEM);
        return;
    }
    e->status.acap = e->capact; /* it may have moved: say so at once */
    acd_action *a = &e->act[e->nact++];
    a->kind = kind;
    a->reason = reason;
    a->call = call;
    a->agent = agent;
    a->queue = queue;
    a->n = n;
    a->x = x;
    a->y = y;
    a->at = e->now;
}

int agent_available(const eagent_t *a, double now)
{
    return a->logged_in && !a->paused && !a->pending_logout && a->not_before <= now;
}

/* The instant `delay` from now, always later than now for a positive delay. */
double after(const acd_engine *e, double delay)
{
    double now = e->now, when = now + delay;
    if (delay > 0 && when <= now)
        when = nextafter(now, INFINITY);
    return when;
}

int64_t schedule(acd_engine *e, double when, int kind, int64_t ref, int64_t token)
{
    int64_t seq = acd_heap_push(e->heap, when, kind, ref, token);
    if (seq < 0) {
        fail(e, (int)seq);
        return -1;
    }
    return seq;
}

static void wake_agent(acd_engine *e, int ai, double when)
{
    eagent_t *a = &e->a[ai];
    if (!a->has_wake || a->wake_at <= e->now || when < a->wake_at) {
        a->has_wake = 1;
        a->wake_at = when;
        a->wake_timer = schedule(e, when, EK_WAKE, ai, 0);
    }
}

static void recheck_call(acd_engine *e, int ci, double when)
{
    ecall_t *c = &e->c[ci];
    if (!c->has_recheck || c->recheck_at <= e->now || when < c->recheck_at) {
        c->has_recheck = 1;
        c->recheck_at = when;
        c->recheck_timer = schedule(e, when, EK_RECHECK, c->seq, 0);
    }
}

/* Pop dead deadlines off the top, so next_deadline names a live one. */
void drop_dead(acd_engine *e)
{
    acd_deadline d;
    while (acd_heap_peek(e->heap, &d) == 1 && !timer_live(e, &d))
        acd_heap_pop(e->heap, &d);
}

int tmp_reserve(acd_engine *e, int need)
{
    return eng_grow((void **)&e->tmp, &e->captmp, need + 1, sizeof *e->tmp);
}

/* ------------------------------------------------------------- sessions */

int sess_index(const eagent_t *a, int64_t call)
{
    for (int i = 0; i < a->nsess; i++)
        if (a->sess[i].call == call)
            return i;
    return -1;
}

static void sess_del_at(eagent_t *a, int i)
{
    memmove(&a->sess[i], &a->sess[i + 1], sizeof *a->sess * (size_t)(a->nsess - i - 1));
    a->nsess--;
}

void sess_del(eagent_t *a, int64_t call)
{
    int i = sess_index(a, call);
    if (i >= 0)
        sess_del_at(a, i);
}

static void sess_add(acd_engine *e, int ai, int64_t call, int channel, int queue)
{
    eagent_t *a = &e->a[ai];
    if (a->nsess >= ENGINE_MAX_SESS ||
        eng_grow((void **)&a->sess, &a->capsess, a->nsess + 1, sizeof *a->sess)) {
        fail(e, ACD_ENOMEM);
        return;
    }
    esess_t *s = &a->sess[a->nsess++];
    s->call = call;
    s->channel = channel;
    s->queue = queue;
    s->state = ES_RINGING;
    s->wrap_tseq = -1;
}

/* ---------------------------------------------------------------- agents */

/* _offers.record_answer: an offer's outcome into the agent's window. */
void record_answer(acd_engine *e, int ai, int answered)
{
    int w = e->guard_window;
    if (!w)
        return;
    eagent_t *a = &e->a[ai];
    if (!a->ans && !(a->ans = calloc((size_t)w, 1))) {
        fail(e, ACD_ENOMEM);
        return;
    }
    if (a->ans_n == w) { /* the oldest goes */
        a->ans_sum -= a->ans[a->ans_head];
        a->ans_head = (a->ans_head + 1) % w;
        a->ans_n--;
    }
    a->ans[(a->ans_head + a->ans_n) % w] = answered ? 1 : 0;
    a->ans_n++;
    a->ans_sum += answered ? 1 : 0;
}

/* _agents.load_guarded: whether the guard passes the agent over. */
int load_guarded(const acd_engine *e, const eagent_t *a)
{
    if (!e->guard_window || a->ans_n < e->guard_min)
        return 0;
    return (double)a->ans_sum / a->ans_n < e->guard_rate;
}

/* Push the agent's dynamic state to the core (NativeCore.sync). */
void sync_agent(acd_engine *e, int ai, int avail)
{
    eagent_t *a = &e->a[ai];
    if (a->nsess > e->capsync) {
        int c1 = e->capsync, c2 = e->capsync;
        if (eng_grow((void **)&e->sync_seq, &c1, a->nsess, sizeof *e->sync_seq) ||
            eng_grow((void **)&e->sync_ch, &c2, a->nsess, sizeof *e->sync_ch)) {
            fail(e, ACD_ENOMEM);
            return;
        }
        e->capsync = c1 < c2 ? c1 : c2;
    }
    for (int i = 0; i < a->nsess; i++) {
        e->sync_seq[i] = a->sess[i].call;
        e->sync_ch[i] = a->sess[i].channel;
    }
    int rc = acd_agent_sync(e->core, ai, avail, a->idle_since, a->calls_taken, a->talk_time,
                            load_guarded(e, a), a->nsess, e->sync_seq, e->sync_ch);
    if (rc < 0)
        fail(e, rc);
}

/* _agents.refresh: the core recomputes the free lists; a wake-up is
 * pending for the end of a no-answer delay. */
void refresh(acd_engine *e, int ai)
{
    eagent_t *a = &e->a[ai];
    sync_agent(e, ai, agent_available(a, e->now));
    if (a->logged_in && a->not_before > e->now)
        wake_agent(e, ai, a->not_before);
}

int mq_reserve(acd_engine *e, int ai, int n)
{
    eagent_t *a = &e->a[ai];
    return eng_grow((void **)&a->mq, &a->capmq, n, sizeof *a->mq);
}

void set_memberships(acd_engine *e, int ai, int nmem, const int *mqueue)
{
    eagent_t *a = &e->a[ai];
    if (nmem != a->nmq || (nmem && memcmp(a->mq, mqueue, sizeof *a->mq * (size_t)nmem)))
        e->mq_gen++; /* the queues' pools change (acd_engine_hooks.c) */
    for (int i = 0; i < a->nmq; i++) {
        e->q[a->mq[i]].members -= a->logged_in;
        e->q[a->mq[i]].staffed -= a->staffed;
    }
    if (nmem)
        memmove(a->mq, mqueue, sizeof *a->mq * (size_t)nmem);
    a->nmq = nmem;
    for (int i = 0; i < nmem; i++) {
        e->q[mqueue[i]].members += a->logged_in;
        e->q[mqueue[i]].staffed += a->staffed;
    }
}

static void exit_waiting(acd_engine *e, int ci, int kind, int target, int reason);

/* _agents.complete_logout: out of its queues' members; each queue it
 * leaves with no member sends its waiting calls away by its leave-empty
 * exit, queue by queue in profile order, calls in queue order. */
void complete_logout(acd_engine *e, int ai)
{
    eagent_t *a = &e->a[ai];
    a->logged_in = 0;
    a->pending_logout = 0;
    a->paused = 0;
    a->has_wake = 0;
    a->wake_timer = -1;
    staffing(e, ai);
    for (int i = 0; i < a->nmq; i++)
        e->q[a->mq[i]].members--;
    sync_agent(e, ai, 0);
    for (int i = 0; i < a->nmq && !e->err; i++) {
        const equeue_t *q = &e->q[a->mq[i]];
        if (q->members || q->le_kind == ACD_X_NONE)
            continue;
        int n = acd_oq_len(q->waiting);
        if (n == 0)
            continue;
        if (eng_grow((void **)&e->ltmp, &e->capltmp, n, sizeof *e->ltmp)) {
            fail(e, ACD_ENOMEM);
            return;
        }
        acd_oq_slice(q->waiting, 0, n, e->ltmp);
        for (int k = 0; k < n; k++)
            e->ltmp[k] = acd_oq_ref(q->waiting, e->ltmp[k]);
        for (int k = 0; k < n && !e->err; k++)
            exit_waiting(e, e->ltmp[k], q->le_kind, q->le_target, ACD_R_LEAVE_EMPTY);
    }
}

void end_wrapups(eagent_t *a)
{
    int k = 0;
    for (int i = 0; i < a->nsess; i++)
        if (a->sess[i].state != ES_WRAP)
            a->sess[k++] = a->sess[i];
    a->nsess = k;
}

/* ----------------------------------------------------------------- queues */

void dequeue(acd_engine *e, int ci)
{
    ecall_t *c = &e->c[ci];
    if (c->oqh >= 0) {
        int rc = acd_oq_remove(e->q[c->queue].waiting, c->oqh);
        if (rc < 0)
            fail(e, rc);
        c->oqh = -1;
    }
    if (c->slot >= 0) {
        int rc = acd_call_remove(e->core, c->slot);
        if (rc < 0)
            fail(e, rc);
        e->slot_call[c->slot] = -1;
        c->slot = -1;
    }
}

/* _deadlines.max_wait_end: strictly after the call entered its queue. */
static double max_wait_end(const ecall_t *c, const equeue_t *q)
{
    double end = c->entered + q->max_wait;
    return end > c->entered ? end : nextafter(c->entered, INFINITY);
}

/* A call takes its place in its queue and in the core (Queued). */
void enqueue_place(acd_engine *e, int ci, int reason)
{
    ecall_t *c = &e->c[ci];
    equeue_t *q = &e->q[c->queue];
    c->state = ACD_C_WAITING;
    int h = acd_oq_insert_shared(q->waiting, ci);
    if (h < 0) {
        fail(e, h);
        return;
    }
    c->oqh = h;
    int position = acd_oq_index(q->waiting, h) + 1;
    int slot = acd_call_put(e->core, c->seq, c->queue, c->cls, c->key, c->entered, c->preferred,
                            c->preferred >= 0 ? c->preferred_until : 0.0);
    if (slot < 0) {
        fail(e, slot);
        return;
    }
    if (slot >= e->capslot) {
        int old = e->capslot;
        if (eng_grow((void **)&e->slot_call, &e->capslot, slot + 1, sizeof *e->slot_call)) {
            acd_call_remove(e->core, slot);
            fail(e, ACD_ENOMEM);
            return;
        }
        for (int i = old; i < e->capslot; i++)
            e->slot_call[i] = -1;
    }
    e->slot_call[slot] = ci;
    c->slot = slot;
    emit(e, ACD_A_QUEUED, reason, c->seq, -1, c->queue, position, 0.0, 0.0);
}

/* _queueing.enqueue: placed, and its queue's maximum wait armed (once per
 * queue entered; it stays armed while the call rings). */
void enqueue(acd_engine *e, int ci, int reason)
{
    enqueue_place(e, ci, reason);
    ecall_t *c = &e->c[ci];
    const equeue_t *q = &e->q[c->queue];
    if (!e->err && q->max_wait > 0 && call_mw_timer(c) < 0 && !c->callback) {
        if (plan_table(e, ci)) {
            fail(e, ACD_ENOMEM);
            return;
        }
        c->st->mw_timer = schedule(e, max_wait_end(c, q), EK_MAXWAIT, c->seq, 0);
    }
}

void finish(acd_engine *e, int ci, int64_t *outcome)
{
    (*outcome)++;
    call_delete(e, ci);
}

/* ----------------------------------------------------------------- offers */

void set_offers(acd_engine *e, ecall_t *c, const int *agents, int n)
{
    if (n <= 1) {
        c->inmany = 0;
        c->one = n ? agents[0] : -1;
        c->noffers = n;
        return;
    }
    if (eng_grow((void **)&c->many, &c->capmany, n, sizeof *c->many)) {
        fail(e, ACD_ENOMEM);
        c->inmany = 0;
        c->noffers = 0;
        return;
    }
    memmove(c->many, agents, sizeof *c->many * (size_t)n);
    c->inmany = 1;
    c->noffers = n;
}

/* Take agent ai out of the call's offers, keeping the others' order. */
void offers_remove(ecall_t *c, int ai)
{
    int *o = offers_of(c);
    int k = 0;
    for (int i = 0; i < c->noffers; i++)
        if (o[i] != ai)
            o[k++] = o[i];
    c->noffers = k;
}

/* _offers.offer: ring the agents with the call; a callback reserves the
 * first of them and has its customer dialled instead. */
static void offer(acd_engine *e, int ci, const int *agents, int n)
{
    ecall_t *c = &e->c[ci];
    equeue_t *q = &e->q[c->queue];
    dequeue(e, ci);
    c->offered_at = e->now;
    int callback = c->callback;
    double timeout = q->ring_timeout;
    if (callback) {
        n = n > 1 ? 1 : n;
        timeout = q->cb_dial;
    } else {
        hook(e, ACD_H_STARTED, c->seq, c->queue, e->now - c->entered);
    }
    c->state = ACD_C_RINGING;
    set_offers(e, c, agents, n);
    c->ring_round++;
    schedule(e, after(e, timeout), EK_RING, c->seq, c->ring_round);
    const int *o = offers_of(c);
    for (int i = 0; i < c->noffers && !e->err; i++) {
        int ai = o[i];
        sess_add(e, ai, c->seq, c->channel, c->queue);
        q->rr_last = e->a[ai].order;
        if (callback)
            emit(e, ACD_A_PLACE, 0, c->seq, ai, c->queue, call_attempts(c) + 1, 0.0, timeout);
        else
            emit(e, ACD_A_OFFER, 0, c->seq, ai, c->queue, 0, e->now - c->arrived, timeout);
        refresh(e, ai);
    }
}

void miss(acd_engine *e, int ai, int queue)
{
    record_answer(e, ai, 0);
    eagent_t *a = &e->a[ai];
    const equeue_t *q = &e->q[queue];
    a->misses++;
    double until = after(e, q->no_answer_delay);
    if (until > a->not_before)
        a->not_before = until;
    if (q->auto_pause_after >= 0 && a->misses >= q->auto_pause_after && !a->paused &&
        a->logged_in) {
        a->paused = 1;
        staffing(e, ai);
        emit(e, ACD_A_PAUSE, 0, -1, ai, queue, 0, 0.0, 0.0);
    }
    refresh(e, ai);
}

/* _offers.withdraw: 1 when nobody rings for the call any more. */
int withdraw(acd_engine *e, int ai, int ci, int reason)
{
    ecall_t *c = &e->c[ci];
    offers_remove(c, ai);
    sess_del(&e->a[ai], c->seq);
    emit(e, ACD_A_CANCEL, reason, c->seq, ai, -1, 0, 0.0, 0.0);
    if (c->noffers)
        return 0;
    c->ring_round++;
    return 1;
}

/* ---------------------------------------------------------------- routing */

static void route_call(acd_engine *e, int ci)
{
    ecall_t *c = &e->c[ci];
    const equeue_t *q = &e->q[c->queue];
    int need = e->na + 1;
    if (need > e->capout) {
        int c1 = e->capout, c2 = e->capout;
        if (eng_grow((void **)&e->out_agent, &c1, need, sizeof *e->out_agent) ||
            eng_grow((void **)&e->out_weight, &c2, need, sizeof *e->out_weight)) {
            fail(e, ACD_ENOMEM);
            return;
        }
        e->capout = c1 < c2 ? c1 : c2;
    }
    double earliest;
    int n = acd_route_call(e->core, c->slot, e->now, q->rr_last, e->out_agent, e->out_weight,
                           e->capout, &earliest);
    if (n < 0) {
        fail(e, n);
        return;
    }
    if (n == 0) {
        if (earliest < INFINITY)
            recheck_call(e, ci, earliest);
        return;
    }
    int first = 0, count = n;
    if (c->preferred < 0 || e->out_agent[0] != c->preferred) { /* router.draw */
        uint64_t r = 0;
        if (q->strategy == ESTRAT_RANDOM) {
            if (draw_below(e, (uint64_t)n, &r) != ACD_OK) {
                fail(e, ACD_ESTATE);
                return;
            }
            first = (int)r;
            count = 1;
        } else if (q->strategy == ESTRAT_WEIGHTED_RANDOM) {
            uint64_t total = 0;
            for (int i = 0; i < n; i++)
                total += (uint64_t)e->out_weight[i];
            if (draw_below(e, total, &r) != ACD_OK) {
                fail(e, ACD_ESTATE);
                return;
            }
            for (first = 0; first < n - 1; first++) {
                uint64_t w = (uint64_t)e->out_weight[first];
                if (r < w)
                    break;
                r -= w;
            }
            count = 1;
        }
    }
    offer(e, ci, &e->out_agent[first], count);
}

void route_agent(acd_engine *e, int ai)
{
    int slots[64], calls[64];
    double earliest = INFINITY;
    for (;;) {
        int n = acd_route_agent(e->core, ai, agent_available(&e->a[ai], e->now), e->now, 64,
                                slots, &earliest);
        if (n < 0) {
            fail(e, n);
            return;
        }
        for (int i = 0; i < n; i++)
            calls[i] = e->slot_call[slots[i]];
        for (int i = 0; i < n && !e->err; i++)
            offer(e, calls[i], &ai, 1);
        if (n < 64 || e->err)
            break;
    }
    if (earliest < INFINITY)
        wake_agent(e, ai, earliest);
}

/* Queued, then routed: the start of enter, and all of requeue's. */
static void enqueue_route(acd_engine *e, int ci, int reason)
{
    enqueue(e, ci, reason);
    if (!e->err)
        route_call(e, ci);
}

/* _queueing.enter: a call enters its queue afresh (arrival, transfer,
 * move): queued, then routed; if it must wait, the estimators hear of it. */
void enter(acd_engine *e, int ci, int reason)
{
    enqueue_route(e, ci, reason);
    if (e->err)
        return;
    call_ann_clear(&e->c[ci]); /* announcements start afresh in the queue */
    if (e->hooks && e->c[ci].state == ACD_C_WAITING) {
        hook_entered_emit(e, ci);
        if (!e->err)
            start_announcements(e, ci, 1);
    }
}

/* The entry of a call's move table for queue, NULL when none. */
static const emove_t *move_to(const ecall_t *c, int queue)
{
    const emoves_t *mv = call_moves(c);
    for (int i = 0; mv && i < mv->n; i++)
        if (mv->m[i].queue == queue)
            return &mv->m[i];
    return NULL;
}

/* _queueing.exit_outcome_or_move: a live call in no queue, ringing nobody,
 * leaves by an exit: to another queue (_queueing.move, keeping its
 * arrival, then enter), or it ends with the exit's outcome. */
static void exit_or_move(acd_engine *e, int ci, int kind, int target, int reason)
{
    ecall_t *c = &e->c[ci];
    if (kind == ACD_X_QUEUE) {
        const emove_t *m = move_to(c, target);
        if (!m) {
            fail(e, ACD_ESTATE); /* the façade gave no table for this move */
            return;
        }
        emit(e, ACD_A_MOVE, reason, c->seq, -1, c->queue, target, 0.0, 0.0);
        c->queue = target;
        c->entered = e->now;
        call_mw_clear(c); /* the new queue's own maximum wait applies */
        memcpy(c->key, m->key, sizeof c->key);
        c->preferred = -1;
        c->cls = m->cls;
        stages_clear(c);
        enter(e, ci, ACD_R_OVERFLOW);
        return;
    }
    hook(e, ACD_H_LEFT, c->seq, c->queue, 0.0);
    emit(e, ACD_A_EXIT, reason, c->seq, -1, c->queue, kind, 0.0, 0.0);
    if (kind == ACD_O_OVERFLOWED)
        finish(e, ci, &e->overflowed);
    else if (kind == ACD_O_SELF_SERVICE)
        finish(e, ci, &e->self_service);
    else
        finish(e, ci, &e->rejected);
}

/* _queueing.exit_waiting: a waiting call leaves its queue by an exit. */
static void exit_waiting(acd_engine *e, int ci, int kind, int target, int reason)
{
    dequeue(e, ci);
    exit_or_move(e, ci, kind, target, reason);
}

/* _queueing.requeue: a call whose offer ended goes back to its place,
 * unless it has reached its queue's maximum wait meanwhile, or the queue
 * has no member left and a leave-empty exit: then it leaves by that. */
void requeue(acd_engine *e, int ci, int reason)
{
    ecall_t *c = &e->c[ci];
    const equeue_t *q = &e->q[c->queue];
    if (q->max_wait > 0 && !c->callback && e->now >= max_wait_end(c, q)) {
        exit_or_move(e, ci, q->mw_kind, q->mw_target, ACD_R_MAX_WAIT);
        return;
    }
    if (q->le_kind != ACD_X_NONE && !q->members) {
        exit_or_move(e, ci, q->le_kind, q->le_target, ACD_R_LEAVE_EMPTY);
        return;
    }
    enqueue_route(e, ci, reason); /* (no estimator hears of a call put back) */
    if (!e->err && e->hooks && e->c[ci].state == ACD_C_WAITING)
        start_announcements(e, ci, 0); /* (unless one is pending) */
}

/* _offers.release_agent: the agent's side of a connected call that ended. */
void release_agent(acd_engine *e, int ai, int64_t call, double answered_at, double offered_at)
{
    eagent_t *a = &e->a[ai];
    a->talk_time += e->now - answered_at;
    a->last_call_end = e->now;
    a->has_last_end = 1;
    int si = sess_index(a, call);
    if (si < 0) {
        fail(e, ACD_ESTATE);
        return;
    }
    double wrap = e->q[a->sess[si].queue].wrap_up;
    hook(e, ACD_H_HANDLED, -1, a->sess[si].queue,
         e->now - offered_at + (a->pending_logout ? 0.0 : wrap));
    if (a->pending_logout) {
        sess_del_at(a, si);
        end_wrapups(a);
        if (!a->nsess)
            complete_logout(e, ai);
        return;
    }
    if (wrap > 0) {
        a->sess[si].state = ES_WRAP;
        a->sess[si].until = after(e, wrap);
        a->sess[si].wrap_tseq = schedule(e, a->sess[si].until, EK_WRAP, ai, call);
    } else {
        sess_del_at(a, si);
        a->idle_since = e->now;
    }
    refresh(e, ai);
    route_agent(e, ai);
}

/* ------------------------------------------------------------------ surge */

/* _queueing.update_surge: each surge queue, in the plan's order, enters or
 * leaves surge mode by its waiting count (with hysteresis). */
void update_surge(acd_engine *e)
{
    for (int i = 0; i < e->nsurge; i++) {
        int qi = e->surgeq[i];
        equeue_t *q = &e->q[qi];
        int n = acd_oq_len(q->waiting);
        if (!q->surge && n >= q->surge_enter) {
            q->surge = 1;
            emit(e, ACD_A_SURGE, 0, -1, -1, qi, n, 1.0, 0.0);
        } else if (q->surge && n <= q->surge_leave) {
            q->surge = 0;
            emit(e, ACD_A_SURGE, 0, -1, -1, qi, n, 0.0, 0.0);
        }
    }
}

/* -------------------------------------------------------------- deadlines */

void fire(acd_engine *e, const acd_deadline *d)
{
    if (d->kind == EK_RING) {
        int ci = call_find(e, d->ref);
        ecall_t *c = &e->c[ci];
        if (c->callback) {
            callback_unanswered(e, ci); /* the customer did not pick up in time */
            return;
        }
        int n = c->noffers;
        if (tmp_reserve(e, n)) {
            fail(e, ACD_ENOMEM);
            return;
        }
        memcpy(e->tmp, offers_of(c), sizeof *e->tmp * (size_t)n);
        c->noffers = 0;
        c->inmany = 0;
        c->ring_round++;
        for (int i = 0; i < n; i++) {
            sess_del(&e->a[e->tmp[i]], c->seq);
            emit(e, ACD_A_CANCEL, ACD_R_RING_TIMEOUT, c->seq, e->tmp[i], -1, 0, 0.0, 0.0);
            miss(e, e->tmp[i], c->queue);
        }
        requeue(e, ci, ACD_R_RING_TIMEOUT);
        for (int i = 0; i < n && !e->err; i++)
            route_agent(e, e->tmp[i]);
    } else if (d->kind == EK_WRAP) {
        int ai = (int)d->ref;
        eagent_t *a = &e->a[ai];
        sess_del(a, d->token);
        a->idle_since = e->now;
        refresh(e, ai);
        route_agent(e, ai);
    } else if (d->kind == EK_WAKE) {
        int ai = (int)d->ref;
        e->a[ai].has_wake = 0;
        e->a[ai].wake_timer = -1;
        refresh(e, ai);
        route_agent(e, ai);
    } else if (d->kind == EK_STAGE) {
        int ci = call_find(e, d->ref);
        e->c[ci].st->timer = -1;
        enter_stage(e, ci, (int)d->token);
        if (!e->err && e->c[ci].state == ACD_C_WAITING)
            route_call(e, ci);
    } else if (d->kind == EK_MAXWAIT) {
        int ci = call_find(e, d->ref);
        ecall_t *c = &e->c[ci];
        call_mw_clear(c);
        /* A call ringing now leaves when its offer ends (requeue). */
        if (c->state == ACD_C_WAITING) {
            const equeue_t *q = &e->q[c->queue];
            exit_waiting(e, ci, q->mw_kind, q->mw_target, ACD_R_MAX_WAIT);
        }
    } else if (d->kind == EK_ANNOUNCE) {
        fire_announce(e, call_find(e, d->ref));
    } else if (d->kind == EK_RETRY) {
        requeue(e, call_find(e, d->ref), ACD_R_CALLBACK_RETRY);
    } else {
        int ci = call_find(e, d->ref);
        ecall_t *c = &e->c[ci];
        c->has_recheck = 0;
        c->recheck_timer = -1;
        if (c->state == ACD_C_WAITING)
            route_call(e, ci);
    }
}

