/* acdcore native backend, the engine: caller experience. When a waiting
 * call hears an announcement, and when it is weighed for a callback offer
 * (_experience.start_announcements, and the ANNOUNCE deadline of
 * _deadlines.fire); and a callback's unanswered attempt (the events'
 * handlers are in acd_engine_events.c). The timing is the engine's, since
 * its deadlines are numbered with every other; what the caller hears
 * follows the estimates, which are the façade's: each such moment is a
 * hook carrying the call's context and a placeholder action (ACD_A_SPEAK)
 * where the façade words it. Announcements and offers act only with hooks
 * on (a distributor with estimators), as on the Python handlers.
 */
#include "acd_engine_internal.h"

/* _deadlines.arm_announce: the call's next announcement at `when`. */
static void arm_announce(acd_engine *e, int ci, double when)
{
    if (plan_table(e, ci)) {
        fail(e, ACD_ENOMEM);
        return;
    }
    estages_t *t = e->c[ci].st;
    t->next_ann = when;
    t->ann_timer = schedule(e, when, EK_ANNOUNCE, e->c[ci].seq, 0);
}

/* _experience.announce: the call hears its position and estimated wait
 * (or nothing, when neither moved enough: the façade decides) and may be
 * offered a callback. The first one always speaks, so "has heard one"
 * is the engine's to know. */
static void announce(acd_engine *e, int ci, int entered)
{
    if (plan_table(e, ci)) {
        fail(e, ACD_ENOMEM);
        return;
    }
    e->c[ci].st->heard = 1;
    hook_speak(e, ci, ACD_H_ANNOUNCE, entered);
}

void start_announcements(acd_engine *e, int ci, int entered)
{
    const ecall_t *c = &e->c[ci];
    if (c->callback || !e->hooks || call_ann_timer(c) >= 0)
        return;
    const equeue_t *q = &e->q[c->queue];
    if (q->ann) {
        if (q->ann_first == 0 || call_heard(c)) {
            announce(e, ci, entered);
            if (!e->err)
                arm_announce(e, ci, after(e, q->ann_every));
        } else {
            arm_announce(e, ci, after(e, q->ann_first));
        }
    } else if (q->cb) {
        /* Weighed every time; the façade knows whether one was offered. */
        hook_speak(e, ci, ACD_H_CALLBACK, entered);
    }
}

void fire_announce(acd_engine *e, int ci)
{
    ecall_t *c = &e->c[ci];
    call_ann_clear(c);
    const equeue_t *q = &e->q[c->queue];
    if (!q->ann || c->callback || c->state == ACD_C_CONNECTED)
        return;
    if (c->state == ACD_C_WAITING)
        announce(e, ci, 0);
    if (!e->err)
        arm_announce(e, ci, after(e, q->ann_every)); /* the rhythm goes on while it rings */
}

/* ------------------------------------------------------------- callbacks */

void callback_unanswered(acd_engine *e, int ci)
{
    ecall_t *c = &e->c[ci];
    if (tmp_reserve(e, c->noffers)) {
        fail(e, ACD_ENOMEM);
        return;
    }
    int n = release_offers(e, ci, ACD_R_CALLBACK_UNANSWERED); /* the reserved agent: no miss */
    c->ring_round++;
    if (plan_table(e, ci)) {
        fail(e, ACD_ENOMEM);
        return;
    }
    int attempts = ++c->st->attempts;
    const equeue_t *q = &e->q[c->queue];
    if (attempts > q->cb_retries) {
        emit(e, ACD_A_CALLBACK_FAILED, 0, c->seq, -1, c->queue, attempts, 0.0, 0.0);
        hook(e, ACD_H_LEFT, c->seq, c->queue, 0.0);
        finish(e, ci, &e->callback_failed);
    } else {
        c->state = ACD_C_PENDING;
        schedule(e, after(e, q->cb_retry_delay), EK_RETRY, c->seq, attempts);
    }
    reroute(e, n);
}
