/* acdcore native backend: the engine's invariant check (acd_engine_check,
 * see acd_engine.h): the relations the handlers keep between the call
 * table, the queues' treaps and the core's waiting calls, the agents'
 * sessions and offers, the deadline heap and the status block, surge modes,
 * load-guard rings and the counters.
 * It returns the number of the first invariant broken (negative), or
 * ACD_OK. Cost: O(calls + agents x sessions + deadlines). The event
 * handlers never call it; acd_engine_load_finish does (a loaded state must
 * hold every invariant), and so do the tests.
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "acd_engine_internal.h"

static int has_free_channel(const eagent_t *a)
{
    for (int ch = 0; ch < ACD_NCH; ch++) {
        if (a->cap[ch] <= 0)
            continue;
        int used = 0, blocked = 0;
        for (int i = 0; i < a->nsess; i++) {
            int s = a->sess[i].channel;
            if (s == ch)
                used++;
            else if ((a->excl & (1u << s)) || (a->excl & (1u << ch)))
                blocked = 1;
        }
        if (!blocked && used < a->cap[ch])
            return 1;
    }
    return 0;
}

static const esess_t *find_sess(const eagent_t *a, int64_t call)
{
    for (int i = 0; i < a->nsess; i++)
        if (a->sess[i].call == call)
            return &a->sess[i];
    return NULL;
}

static int offer_at(const ecall_t *c, int i) { return c->inmany ? c->many[i] : c->one; }

int acd_engine_check(const acd_engine *e)
{
    if (!e)
        return ACD_EARG;
    if (e->broken)
        return -100;
    if (acd_heap_check(e->heap) != ACD_OK)
        return -101;
    acd_deadline top;
    int has_top = acd_heap_peek(e->heap, &top) == 1;
    if (has_top && !timer_live(e, &top))
        return -102; /* next_deadline must name a live deadline */
    if (e->status.nact != e->nact || e->status.acap != e->capact || e->status.has_due != has_top ||
        (has_top && e->status.due != top.when))
        return -103; /* the status block must say what the engine holds */
    int waiting = 0, live = 0;
    for (int ci = 0; ci < e->nc; ci++) {
        const ecall_t *c = &e->c[ci];
        if (!c->used)
            continue;
        live++;
        if (call_find(e, c->seq) != ci || c->queue < 0 || c->queue >= e->nq)
            return -103;
        /* A staged call's class is its current stage's; a stage deadline
         * is armed only before the last stage. */
        int nst = call_nst(c), stage = call_stage(c);
        if (nst > 0 && (stage < 0 || stage >= nst || c->st->s[stage].cls != c->cls))
            return -120;
        if (nst == 0 ? (c->st && (c->st->cur != 0 || c->st->timer >= 0))
                     : (call_stage_timer(c) >= 0 && stage == nst - 1))
            return -120;
        if (c->state == ACD_C_WAITING && !c->callback && e->q[c->queue].max_wait > 0 &&
            call_mw_timer(c) < 0 &&
            e->now < c->entered + e->q[c->queue].max_wait)
            return -122; /* a call waiting within its maximum wait has that deadline */
        if (c->callback &&
            (call_ann_timer(c) >= 0 || call_mw_timer(c) >= 0 || c->state == ACD_C_CONNECTED))
            return -128; /* a callback hears nothing, has no maximum wait, is never connected */
        if (c->state == ACD_C_WAITING && !c->callback && e->hooks && e->q[c->queue].ann &&
            !(call_ann_timer(c) >= 0 && c->st->next_ann > e->now))
            return -127; /* a call waiting with announcements has the next one pending */
        if (call_ann_timer(c) >= 0 && !e->hooks)
            return -127; /* nobody announces without estimators */
        if (c->state == ACD_C_WAITING) {
            waiting++;
            if (c->slot < 0 || c->slot >= e->capslot || e->slot_call[c->slot] != ci ||
                acd_call_state(e->core, c->slot) != 2 || c->oqh < 0 || c->noffers != 0)
                return -104;
            double key[ACD_KEYLEN];
            if (acd_oq_key(e->q[c->queue].waiting, c->oqh, key) != ACD_OK ||
                memcmp(key, c->key, sizeof key) != 0)
                return -105;
        } else if (c->state == ACD_C_RINGING) {
            if (c->slot >= 0 || c->oqh >= 0 || c->noffers < 1)
                return -106;
            for (int i = 0; i < c->noffers; i++) {
                int ai = offer_at(c, i);
                if (ai < 0 || ai >= e->na)
                    return -107;
                const esess_t *s = find_sess(&e->a[ai], c->seq);
                if (!s || s->state != ES_RINGING)
                    return -107;
            }
        } else if (c->state == ACD_C_CONNECTED) {
            if (c->slot >= 0 || c->noffers != 0 || c->agent < 0 || c->agent >= e->na)
                return -108;
            const esess_t *s = find_sess(&e->a[c->agent], c->seq);
            if (!s || s->state != ES_CONNECTED)
                return -108;
        } else if (c->state == ACD_C_PENDING) {
            if (c->slot >= 0 || c->oqh >= 0 || c->noffers != 0 || !c->callback)
                return -109; /* a callback between attempts is in no queue and rings nobody */
        } else {
            return -109;
        }
    }
    if (live != e->live || acd_ncalls(e->core) != waiting)
        return -110;
    int oq_total = 0, core_total = 0;
    for (int q = 0; q < e->nq; q++) {
        oq_total += acd_oq_len(e->q[q].waiting);
        core_total += acd_queue_nwaiting(e->core, q);
        if (acd_oq_check(e->q[q].waiting) != ACD_OK)
            return -111;
    }
    if (oq_total != waiting || core_total != waiting)
        return -111;
    for (int ai = 0; ai < e->na; ai++) {
        const eagent_t *a = &e->a[ai];
        if (!a->profiled) {
            if (a->logged_in || a->nsess)
                return -112;
            continue;
        }
        if (!a->logged_in && (a->nsess || a->pending_logout || a->paused || a->has_wake))
            return -113;
        if (a->pending_logout && a->nsess == 0)
            return -114;
        for (int i = 0; i < a->nsess; i++) {
            const esess_t *s = &a->sess[i];
            int ci = call_find(e, s->call);
            if (s->state == ES_WRAP) {
                /* A wrap-up follows the agent's side of a call: the call has
                 * ended, or was transferred and lives on elsewhere. */
                if (ci >= 0 && e->c[ci].agent == ai)
                    return -115;
                continue;
            }
            if (ci < 0)
                return -116;
            const ecall_t *c = &e->c[ci];
            if (s->state == ES_CONNECTED && (c->state != ACD_C_CONNECTED || c->agent != ai))
                return -116;
            if (s->state == ES_RINGING) {
                int found = 0;
                for (int k = 0; k < c->noffers && !found; k++)
                    found = offer_at(c, k) == ai;
                if (c->state != ACD_C_RINGING || !found)
                    return -117;
            }
            for (int k = i + 1; k < a->nsess; k++)
                if (a->sess[k].call == s->call)
                    return -118;
        }
        /* Stale while a logging-out agent finishes its calls: the Python
         * reference pushes nothing to the core then either; the agent is
         * unavailable both ways. */
        if (a->pending_logout)
            continue;
        int want = agent_available(a, e->now) && has_free_channel(a);
        if (acd_agent_offerable(e->core, ai) != want)
            return -119;
    }
    /* Each queue's member count: its logged-in members; and its staffed
     * count: the staffed ones (logged in, not paused, not logging out). */
    for (int ai = 0; ai < e->na; ai++) {
        const eagent_t *a = &e->a[ai];
        if (a->staffed != (a->logged_in && !a->paused && !a->pending_logout))
            return -125;
    }
    for (int q = 0; q < e->nq; q++) {
        int n = 0, s = 0;
        for (int ai = 0; ai < e->na; ai++)
            for (int i = 0; e->a[ai].logged_in && i < e->a[ai].nmq; i++) {
                n += e->a[ai].mq[i] == q;
                s += e->a[ai].mq[i] == q && e->a[ai].staffed;
            }
        if (n != e->q[q].members)
            return -121;
        if (s != e->q[q].staffed)
            return -126;
        if (e->q[q].surge && e->q[q].surge_enter < 1)
            return -123; /* in surge mode without a surge rule */
    }
    for (int ai = 0; ai < e->na; ai++) { /* the guard's memory stays in its window */
        const eagent_t *a = &e->a[ai];
        int sum = 0;
        for (int i = 0; i < a->ans_n; i++)
            sum += a->ans[(a->ans_head + i) % e->guard_window];
        if (a->ans_n < 0 || a->ans_n > e->guard_window || sum != a->ans_sum)
            return -124;
    }
    return ACD_OK;
}
