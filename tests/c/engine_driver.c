/* valgrind driver for the engine (acd_engine*.c and what they own: the
 * core, the deadline heap, the generator, the queues' treaps): random
 * events, valid and not, over queues of every strategy, with ring-all
 * lists, multi-channel agents, an agent taking more than 64 calls in one
 * go, transfers, logouts and re-logins; acd_engine_check() all along, and
 * the whole state read out (export) every 250 steps, and every 5,000 steps
 * the run carries on with a copy loaded from that export (acd_engine.h,
 * "load"): the checksum is the same as without the copies; some arrivals
 * carry a relaxation table (a routing plan's steps: classes that widen and
 * add a queue, with expiries), and queue 1 borrows queue 0's agents;
 * queues 2, 4, 5 and 6 have a plan's maximum waits and leave-empty exits
 * (moves between queues too, with each call's move table), queues 7 and 3
 * surge modes; a load guard; agents in three regions, stages that admit
 * one region only or are skipped when nobody could take the call (the
 * stage acd_engine_entry_stage says an arrival enters is the one it
 * does); refusals with their codes; then free. Prints a checksum of the actions.
 * The estimators' hooks are on: every step's are read and checked, and
 * folded into a checksum of their own; every waiting call's context is
 * read with each export. Queues 0, 1 and 8 announce (timed by the
 * engine, each moment a hook with its context and a placeholder action
 * naming it), queues 2 and 8 offer callbacks: with hooks off none of that
 * happens, and otherwise the hooks decide nothing. Callers of queues 2
 * and 8 ask for callbacks, which go unanswered, are retried, fail and are
 * withdrawn. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "acd_engine.h"
#include "acd_native.h"

#define NQ 9 /* one queue per strategy */
#define NA 24
#define MAXLIVE 4096

static uint64_t state = 88172645463325252ULL;

static unsigned next(unsigned n)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (unsigned)(state % n);
}

static int64_t live[MAXLIVE];
static int nlive;
static long long checksum, hooksum;
static int bad_hook;
static long spoken; /* ACD_A_SPEAK actions seen */
static long callbacks, placed; /* callbacks requested, PlaceCallback actions */
/* The agent last offered each call (by seq modulo the table: a guess). */
static int64_t rung_call[8192];
static int rung_agent[8192];
static int classes[7];
static void moved(int64_t seq, int target);

static void forget_dead(acd_engine *e)
{
    int k = 0, st, q, ag, no;
    for (int i = 0; i < nlive; i++)
        if (acd_engine_call(e, live[i], &st, &q, &ag, &no) == ACD_OK)
            live[k++] = live[i];
    nlive = k;
}

/* The last step's estimator hooks: folded into hooksum, and checked. */
static void take_hooks(acd_engine *e)
{
    int n = acd_engine_status_of(e)->nhook;
    const acd_hook *h = acd_engine_hooks(e);
    for (int i = 0; i < n; i++) {
        hooksum += h[i].kind * 11 + h[i].queue + h[i].call;
        for (int k = 0; k < 6; k++)
            hooksum += h[i].n[k] * (k + 1);
        if (h[i].queue < 0 || h[i].queue >= NQ || h[i].kind < ACD_H_SAMPLE ||
            h[i].kind > ACD_H_CALLBACK)
            bad_hook = 1;
        int ctx = h[i].kind == ACD_H_ENTERED || h[i].kind == ACD_H_ANNOUNCE ||
                  h[i].kind == ACD_H_CALLBACK;
        if (ctx && (h[i].n[0] >= h[i].n[1] || h[i].n[5] > h[i].n[0] || h[i].n[3] > h[i].n[2] ||
                    (h[i].n[0] > 0) == isnan(h[i].x) || h[i].y < 0.0 ||
                    (h[i].kind == ACD_H_ENTERED && h[i].y != 0.0)))
            bad_hook = 1; /* ahead < waiting, competing <= ahead, agents <= servers... */
        if (h[i].kind == ACD_H_ANNOUNCE && h[i].queue != 0 && h[i].queue != 1 && h[i].queue != 8)
            bad_hook = 1; /* only the announcing queues announce */
        if (h[i].kind == ACD_H_SAMPLE && (h[i].n[0] < 0 || h[i].n[1] < 0 || h[i].n[1] > NA))
            bad_hook = 1;
    }
}

static void take_actions(acd_engine *e)
{
    int n;
    take_hooks(e);
    const acd_action *a = acd_engine_actions(e, &n);
    for (int i = 0; i < n; i++) {
        checksum += a[i].kind * 7 + a[i].reason * 3 + a[i].call + a[i].agent + a[i].queue + a[i].n;
        if (a[i].kind == ACD_A_OFFER) {
            rung_call[a[i].call & 8191] = a[i].call;
            rung_agent[a[i].call & 8191] = a[i].agent;
        }
        if (a[i].kind == ACD_A_MOVE)
            moved(a[i].call, (int)a[i].n);
        if (a[i].kind == ACD_A_PLACE)
            placed++;
        if (a[i].kind == ACD_A_SPEAK) { /* it names its hook, of its call */
            spoken++;
            const acd_hook *h = acd_engine_hooks(e);
            if (a[i].n < 0 || a[i].n >= acd_engine_status_of(e)->nhook ||
                h[a[i].n].call != a[i].call ||
                (h[a[i].n].kind != ACD_H_ANNOUNCE && h[a[i].n].kind != ACD_H_CALLBACK))
                bad_hook = 1;
        }
    }
}

/* Read the whole state out (acd_engine.h, export), as the façade does for
 * views and snapshots: every list with the two-call protocol. */
static int export_all(acd_engine *e)
{
    acd_engine_scalars sc;
    if (acd_engine_scalars_get(e, &sc) != ACD_OK)
        return 1;
    int n = acd_engine_export_calls(e, NULL, 0);
    acd_call_export *calls = malloc(sizeof *calls * (size_t)(n + 1));
    if (n < 0 || !calls || acd_engine_export_calls(e, calls, n) != n || n != sc.live)
        return 2;
    for (int i = 0; i < n; i++) {
        int offers[64];
        acd_call_export one;
        if (acd_engine_call_offers(e, calls[i].seq, offers, 64) != calls[i].noffers ||
            acd_engine_export_call(e, calls[i].seq, &one) != ACD_OK || one.seq != calls[i].seq ||
            acd_engine_call_position(e, calls[i].seq) < 0 ||
            (i && calls[i - 1].seq >= calls[i].seq))
            return 3;
        checksum += calls[i].state + calls[i].noffers;
        acd_hook ctx;
        int rc = acd_engine_context(e, calls[i].seq, &ctx);
        if (calls[i].state == ACD_C_WAITING
                ? rc != ACD_OK || ctx.n[0] != acd_engine_call_position(e, calls[i].seq) - 1
                : rc != ACD_ECALL_STATE)
            return 7;
    }
    free(calls);
    for (int a = 0; a < acd_engine_nagents(e); a++) {
        acd_agent_export ax;
        acd_session_export sess[64];
        if (acd_engine_export_agent(e, a, &ax) != ACD_OK ||
            acd_engine_export_sessions(e, a, sess, 64) != ax.nsess)
            return 4;
    }
    for (int q = 0; q < NQ; q++) {
        int rr, free_agents[NA + 8];
        if (acd_engine_queue_free(e, q, &rr, free_agents, NA + 8) < 0)
            return 5;
    }
    int d = acd_engine_export_deadlines(e, NULL, 0);
    acd_deadline *dl = malloc(sizeof *dl * (size_t)(d + 1));
    if (d < 0 || !dl || acd_engine_export_deadlines(e, dl, d) != d)
        return 6;
    free(dl);
    return 0;
}

/* What the driver gave the engine and the export does not return, kept
 * to load a copy: each agent's last profile, each call's class and key. */
typedef struct {
    int skill[2], level[2], cap[8], nmem, mq[NQ];
    unsigned excl;
    double prio[NQ], delay[NQ], pos[NQ];
    long long weight[NQ];
} profile_t;
static profile_t profiles[NA + 2];
#define MAXSEQ 65536
static int call_cls[MAXSEQ];
static double call_key[MAXSEQ][6];
/* A staged call's table (call_nst 0: none). */
static int call_nst[MAXSEQ], call_stcls[MAXSEQ][3];
static unsigned char call_skip[MAXSEQ][3];
static double call_stexp[MAXSEQ][3];

static void remember_call(int64_t seq, int cls, const double *key)
{
    call_cls[seq % MAXSEQ] = cls;
    call_nst[seq % MAXSEQ] = 0;
    for (int i = 0; i < 6; i++)
        call_key[seq % MAXSEQ][i] = key[i];
}

/* The live-state exits' moves: the queues a call entering each queue may
 * be moved to (itself first), none for the others. */
static const int move_n[NQ] = {0, 0, 2, 0, 0, 3, 0, 0, 0};
static const int move_q[NQ][3] = {{0}, {0}, {2, 4}, {0}, {0}, {5, 2, 4}, {0}, {0}, {0}};
static int call_entry[MAXSEQ]; /* the queue its move table is for, -1: none */

static int channel_of(int cls) { return cls == classes[1] || cls == classes[3]; }

static void move_key(int64_t seq, int queue, double *key)
{
    key[0] = queue;
    key[1] = (double)seq;
    for (int i = 2; i < 6; i++)
        key[i] = -INFINITY;
}

/* The move table of a call that entered queue (as the façade gives it). */
static int give_moves(acd_engine *e, int64_t seq, int queue)
{
    int64_t s = seq % MAXSEQ;
    call_entry[s] = move_n[queue] ? queue : -1;
    if (!move_n[queue])
        return ACD_OK;
    int cls[3];
    double keys[3 * 6];
    for (int i = 0; i < move_n[queue]; i++) {
        cls[i] = classes[channel_of(call_cls[s])];
        move_key(seq, move_q[queue][i], &keys[i * 6]);
    }
    return acd_engine_call_moves(e, seq, move_n[queue], move_q[queue], cls, keys);
}

/* An exit moved the call: it has that queue's class and key, one stage. */
static void moved(int64_t seq, int target)
{
    int64_t s = seq % MAXSEQ;
    call_cls[s] = classes[channel_of(call_cls[s])];
    call_nst[s] = 0;
    move_key(seq, target, call_key[s]);
}

static void remember_stages(int64_t seq, int nst, const int *cls, const double *expires,
                            const unsigned char *skip)
{
    call_nst[seq % MAXSEQ] = nst;
    for (int i = 0; i < nst; i++) {
        call_stcls[seq % MAXSEQ][i] = cls[i];
        call_stexp[seq % MAXSEQ][i] = expires[i];
        call_skip[seq % MAXSEQ][i] = skip ? skip[i] : 0;
    }
}

static int login(acd_engine *e, double now, int agent)
{
    int skill[2] = {0, 1}, level[2] = {(int)next(4), (int)next(4)};
    int cap[8] = {1, (int)next(3), 0, 0, 0, 0, 0, 0};
    int mq[NQ];
    double prio[NQ], delay[NQ], pos[NQ];
    long long weight[NQ];
    int nmem = 1 + (int)next(3);
    int first = (int)next(NQ);
    for (int i = 0; i < nmem; i++) {
        mq[i] = (first + i * 2) % NQ;
        prio[i] = next(2);
        delay[i] = next(4) == 0 ? 1.5 : 0.0;
        pos[i] = next(5);
        weight[i] = 1 + next(5);
    }
    if (agent == 0) { /* the bulk taker: 100 chats at once */
        cap[1] = 100;
        nmem = 1;
        mq[0] = 0;
        delay[0] = 0;
    }
    unsigned excl = next(2) ? 1u : 0u;
    int rc = acd_engine_login(e, now, agent, agent, agent % 3, 2, skill, level, cap, excl, nmem,
                              mq, prio, delay, pos, weight);
    if (rc == ACD_OK) {
        profile_t *p = &profiles[agent];
        memcpy(p->skill, skill, sizeof skill);
        memcpy(p->level, level, sizeof level);
        memcpy(p->cap, cap, sizeof cap);
        p->excl = excl;
        p->nmem = nmem;
        for (int i = 0; i < nmem; i++) {
            p->mq[i] = mq[i];
            p->prio[i] = prio[i];
            p->delay[i] = delay[i];
            p->pos[i] = pos[i];
            p->weight[i] = weight[i];
        }
    }
    return rc;
}

static acd_engine *configured(const uint32_t *words, int index)
{
    acd_engine *e = acd_engine_new(NQ, 0.0, words, index);
    if (!e || acd_engine_set_hooks(e, 1) != ACD_OK || acd_engine_set_hooks(e, 2) != ACD_EARG)
        return NULL;
    for (int q = 0; q < NQ; q++)
        if (acd_engine_queue(e, q, q, 2.0 + q % 3, q % 2 ? 1.0 : 0.0, q == 3 ? 5 : -1, 1.0,
                             q % 3 ? 0.5 : 0.0, q % 4 ? 2 : -1) != ACD_OK)
            return NULL;
    int req_skill[1] = {0}, req_min[1] = {2};
    classes[0] = acd_engine_class(e, 0, NULL, NULL, 0);
    classes[1] = acd_engine_class(e, 0, NULL, NULL, 1);
    classes[2] = acd_engine_class(e, 1, req_skill, req_min, 0);
    classes[3] = acd_engine_class(e, 1, req_skill, req_min, 1);
    /* Queue 1's plan steps add queue 0: its agents scan queue 1 too. */
    int lender = 0, borrower = 1;
    if (acd_engine_borrowers(e, lender, 1, &borrower) != ACD_OK)
        return NULL;
    classes[4] = acd_engine_class_ex(e, 0, NULL, NULL, 0, 1, &lender);
    classes[5] = acd_engine_class_ex(e, 1, req_skill, req_min, 0, 1, &lender);
    classes[6] = acd_engine_class_rx(e, 1, req_skill, req_min, 0, 1, 0, NULL);
    /* Queue 2 waits 6 s, then moves to 4; 4 waits 9 s, then self-service,
     * and rejects when left empty; 5 moves to 2 when left empty; 6 waits
     * 3 s, then a destination. */
    if (acd_engine_queue_exits(e, 2, 6.0, ACD_X_QUEUE, 4, ACD_X_NONE, -1) != ACD_OK ||
        acd_engine_queue_exits(e, 4, 9.0, ACD_O_SELF_SERVICE, -1, ACD_O_REJECTED, -1) != ACD_OK ||
        acd_engine_queue_exits(e, 5, NAN, ACD_X_NONE, -1, ACD_X_QUEUE, 2) != ACD_OK ||
        acd_engine_queue_exits(e, 6, 3.0, ACD_O_OVERFLOWED, -1, ACD_X_NONE, -1) != ACD_OK ||
        acd_engine_queue_exits(e, 7, 0.0, ACD_O_REJECTED, -1, ACD_X_NONE, -1) != ACD_EARG ||
        acd_engine_queue_exits(e, 7, NAN, ACD_X_NONE, -1, ACD_X_QUEUE, NQ) != ACD_EARG)
        return NULL;
    /* A load guard: agents answering under 3 of their last 4 offers (once
     * they have 2) are passed over while others are free. */
    if (acd_engine_load_guard(e, 0.75, 4, 2) != ACD_OK || acd_engine_load_guard(e, 0.5, 4, 2) != ACD_ESTATE)
        return NULL;
    /* Queues 7 and 3 have surge modes (checked in that order). */
    if (acd_engine_queue_surge(e, 7, 3, 1) != ACD_OK || acd_engine_queue_surge(e, 3, 2, 0) != ACD_OK ||
        acd_engine_queue_surge(e, 3, 2, 0) != ACD_ESTATE || acd_engine_queue_surge(e, 1, 2, 2) != ACD_EARG)
        return NULL;
    /* Queue 0 announces at once and every 2 s, queue 1 after 1.5 s and
     * every 2.5 s, queue 8 after 1 s and every 3 s and offers callbacks,
     * as queue 2 does with no announcements. */
    if (acd_engine_queue_experience(e, 0, 1, 0.0, 2.0, 0, 45.0, 2, 300.0) != ACD_OK ||
        acd_engine_queue_experience(e, 1, 1, 1.5, 2.5, 0, 45.0, 2, 300.0) != ACD_OK ||
        acd_engine_queue_experience(e, 8, 1, 1.0, 3.0, 1, 2.0, 2, 0.0) != ACD_OK ||
        acd_engine_queue_experience(e, 2, 0, 0.0, 0.0, 1, 3.0, 1, 2.0) != ACD_OK ||
        acd_engine_queue_experience(e, 3, 1, 1.0, 0.0, 0, 45.0, 2, 300.0) != ACD_EARG ||
        acd_engine_queue_experience(e, 3, 0, 0.0, 0.0, 1, 0.0, 2, 300.0) != ACD_EARG ||
        acd_engine_queue_experience(e, NQ, 0, 0.0, 0.0, 1, 45.0, 2, 300.0) != ACD_EINDEX)
        return NULL;
    for (int a = 0; a < NA + 2; a++) /* two never log in: preferred only */
        if (acd_engine_name_agent(e, a) != ACD_OK)
            return NULL;
    return e;
}

/* A copy of e made through the export and the load (acd_engine.h, "load"),
 * as snapshots.restore does; NULL when the load is refused. e is freed. */
static acd_engine *reload(acd_engine *e)
{
    uint32_t words[624];
    int index;
    if (acd_engine_rng_state(e, words, &index) != ACD_OK)
        return NULL;
    acd_engine *x = configured(words, index);
    if (!x)
        return NULL;
    int nd = acd_engine_export_deadlines(e, NULL, 0);
    acd_deadline *dl = malloc(sizeof *dl * (size_t)(nd + 1));
    if (!dl || acd_engine_export_deadlines(e, dl, nd) != nd)
        return NULL;
    for (int a = 0; a < acd_engine_nagents(e); a++) {
        acd_agent_export ax;
        acd_session_export sess[128];
        if (acd_engine_export_agent(e, a, &ax) != ACD_OK)
            return NULL;
        if (!ax.profiled)
            continue;
        profile_t *p = &profiles[a];
        if (acd_engine_load_agent(x, a, &ax, 2, p->skill, p->level, p->cap, p->excl, p->nmem,
                                  p->mq, p->prio, p->delay, p->pos, p->weight) != ACD_OK)
            return NULL;
        unsigned char answers[8];
        int nans = acd_engine_export_answers(e, a, answers, 8);
        if (nans < 0 || nans > 4 || acd_engine_load_answers(x, a, nans, answers) != ACD_OK)
            return NULL;
        int ns = acd_engine_export_sessions(e, a, sess, 128);
        if (ns < 0 || ns > 128)
            return NULL;
        for (int i = 0; i < ns; i++) {
            int64_t tseq = -1;
            for (int k = 0; k < nd; k++)
                if (dl[k].kind == 1 && dl[k].ref == a && dl[k].token == sess[i].call)
                    tseq = dl[k].seq;
            if (acd_engine_load_session(x, a, &sess[i], tseq) != ACD_OK)
                return NULL;
        }
    }
    int nc = acd_engine_export_calls(e, NULL, 0);
    acd_call_export *calls = malloc(sizeof *calls * (size_t)(nc + 1));
    if (!calls || acd_engine_export_calls(e, calls, nc) != nc)
        return NULL;
    for (int i = 0; i < nc; i++) {
        int offers[128];
        if (acd_engine_call_offers(e, calls[i].seq, offers, 128) != calls[i].noffers)
            return NULL;
        int64_t s = calls[i].seq % MAXSEQ;
        int nst = calls[i].nstages;
        if (nst != call_nst[s])
            return NULL;
        int cls = nst ? call_stcls[s][calls[i].stage] : call_cls[s];
        if (acd_engine_load_call(x, &calls[i], cls, call_key[s], offers) != ACD_OK)
            return NULL;
        if (nst && acd_engine_load_stages(x, calls[i].seq, nst, call_stcls[s], call_stexp[s],
                                          call_skip[s], calls[i].stage, calls[i].stage_timer) != ACD_OK)
            return NULL;
        if (call_entry[s] >= 0 && give_moves(x, calls[i].seq, call_entry[s]) != ACD_OK)
            return NULL;
    }
    for (int q = 0; q < NQ; q++) {
        int rr, free_agents[NA + 8], sw, ss;
        if (acd_engine_queue_free(e, q, &rr, free_agents, NA + 8) < 0 ||
            acd_engine_load_queue(x, q, rr) != ACD_OK ||
            acd_engine_sampled(e, q, &sw, &ss) != ACD_OK ||
            acd_engine_load_sampled(x, q, sw, ss) != ACD_OK ||
            acd_engine_load_surge(x, q, acd_engine_surge(e, q)) != ACD_OK)
            return NULL;
    }
    /* In increasing scheduling number. */
    for (int i = 1; i < nd; i++)
        for (int k = i; k > 0 && dl[k - 1].seq > dl[k].seq; k--) {
            acd_deadline t = dl[k];
            dl[k] = dl[k - 1];
            dl[k - 1] = t;
        }
    for (int i = 0; i < nd; i++)
        if (acd_engine_load_deadline(x, &dl[i]) != ACD_OK)
            return NULL;
    acd_engine_scalars sc;
    if (acd_engine_scalars_get(e, &sc) != ACD_OK || acd_engine_load_finish(x, &sc) != ACD_OK ||
        acd_engine_load_finish(x, &sc) != ACD_ESTATE) /* loaded once only */
        return NULL;
    free(dl);
    free(calls);
    acd_engine_free(e);
    return x;
}

int main(void)
{
    uint32_t words[624];
    words[0] = 19650218U;
    for (int i = 1; i < 624; i++)
        words[i] = 1812433253U * (words[i - 1] ^ (words[i - 1] >> 30)) + (uint32_t)i;
    if (acd_engine_new(0, 0.0, words, 624) != NULL || acd_engine_new(1, NAN, words, 624) != NULL ||
        acd_engine_new(1, 0.0, words, 625) != NULL)
        return 1;
    acd_engine *e = configured(words, 624);
    if (!e || acd_engine_abi_version() != ACD_ENGINE_ABI)
        return 2;
    if (classes[0] < 0 || acd_engine_class(e, 0, NULL, NULL, 0) != classes[0])
        return 4;

    double now = 0.0;
    long refusals = 0;
    /* A burst of chats for the bulk taker, then its login: > 64 offers. */
    for (int i = 0; i < 90; i++) {
        double key[6] = {now, (double)i, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
        int64_t seq = acd_engine_arrive(e, now, 0, classes[1], key, -1);
        if (seq < 0)
            return 6;
        remember_call(seq, classes[1], key);
        live[nlive++] = seq;
    }
    if (login(e, now, 0) != ACD_OK)
        return 7;
    take_actions(e);
    int n;
    acd_engine_actions(e, &n);
    if (n != 90 || acd_engine_check(e) != ACD_OK) /* route_agent's loop went past 64 */
        return 8;
    if (acd_engine_set_hooks(e, 0) != ACD_ESTATE) /* on or off before the first event only */
        return 8;

    for (int step = 0; step < 60000; step++) {
        now += next(4) * 0.5;
        double due;
        if (acd_engine_next_deadline(e, &due) && due <= now) {
            if (acd_engine_advance(e, now) != ACD_OK)
                return 9;
            take_actions(e);
            forget_dead(e);
            continue;
        }
        unsigned pick = next(100);
        int rc = ACD_OK;
        int agent = (int)next(NA + 2);
        int st = 0, q = 0, ag = -1, no = 0;
        int64_t call = nlive ? live[next((unsigned)nlive)] : 12345;
        int have = nlive && acd_engine_call(e, call, &st, &q, &ag, &no) == ACD_OK;
        if (have && next(4) && rung_call[call & 8191] == call)
            agent = rung_agent[call & 8191];
        if (pick < 30) {
            int queue = (int)next(NQ);
            double key[6] = {-(double)next(3), now, (double)acd_engine_next_seq(e),
                             -INFINITY, -INFINITY, -INFINITY};
            int preferred = next(5) == 0 ? (int)next(NA + 2) : -1;
            int cls = classes[next(4)];
            int64_t seq;
            if (next(16) == 0) { /* a plan's exit sends it away: numbered, counted, no action */
                seq = acd_engine_exit(e, now, (int)next(3));
                if (seq < 0 || acd_engine_call(e, seq, &st, &q, &ag, &no) != ACD_EUNKNOWN_CALL)
                    return 10;
            } else if (next(4) == 0) { /* a plan's steps: skill 0, then added queue 0, then anyone */
                int nst = 1 + (int)next(3);
                int stcls[3] = {classes[2], classes[5], classes[4]};
                double stexp[3] = {now + next(3), now + 2.0 + next(3), INFINITY};
                unsigned char skip[3] = {(unsigned char)next(2), (unsigned char)next(2), 0};
                if (next(2)) /* the first stage regional: region 1's agents only */
                    stcls[0] = classes[6];
                int skips = (int)next(2); /* skip_if_empty stages, or none */
                /* The stage the read says the call enters is the one it does. */
                int want =
                    acd_engine_entry_stage(e, now, queue, nst, stcls, stexp, skips ? skip : NULL);
                if (want < 0 || want >= nst)
                    return 10;
                seq = skips ? acd_engine_arrive_planned(e, now, queue, key, preferred, NAN, nst,
                                                        stcls, stexp, skip)
                            : acd_engine_arrive_staged(e, now, queue, key, preferred, nst, stcls,
                                                       stexp);
                if (seq < 0)
                    return 10;
                acd_call_export entered;
                if (acd_engine_export_call(e, seq, &entered) == ACD_OK && entered.stage != want)
                    return 23;
                remember_call(seq, stcls[0], key);
                remember_stages(seq, nst, stcls, stexp, skips ? skip : NULL);
            } else if (next(8) == 0) { /* a plan rule's own reservation of its agent */
                double wait = next(2) ? 0.0 : 3.0;
                seq = acd_engine_arrive_planned(e, now, queue, key, preferred, wait, 0, &cls, NULL,
                                                NULL);
                if (seq < 0)
                    return 10;
                remember_call(seq, cls, key);
            } else {
                seq = acd_engine_arrive(e, now, queue, cls, key, preferred);
                if (seq < 0)
                    return 10;
                remember_call(seq, cls, key);
            }
            int s2, q2, a2, n2;
            if (acd_engine_call(e, seq, &s2, &q2, &a2, &n2) == ACD_OK) {
                if (give_moves(e, seq, queue) != ACD_OK)
                    return 20;
                if (nlive < MAXLIVE)
                    live[nlive++] = seq;
            }
        } else if (pick < 42) {
            int paused, pending, sess;
            int in = acd_engine_agent(e, agent, &paused, &pending, &sess);
            rc = in == 1 ? acd_engine_logout(e, now, agent) : login(e, now, agent);
            if (agent >= NA && in == 0)
                rc = ACD_OK; /* fine either way */
        } else if (pick < 48) {
            rc = next(2) ? acd_engine_pause(e, now, agent) : acd_engine_resume(e, now, agent);
        } else if (pick < 60 && have && st == ACD_C_RINGING) {
            rc = acd_engine_answer(e, now, call, agent); /* often not the one rung */
        } else if (pick < 70 && have && st == ACD_C_RINGING) {
            rc = acd_engine_decline(e, now, call, agent);
        } else if (pick < 85 && have) {
            if (st == ACD_C_CONNECTED && next(5) == 0) { /* a transfer, sometimes */
                double key[6] = {-(double)next(3), now, (double)call,
                                 -INFINITY, -INFINITY, -INFINITY};
                int cls = classes[next(4)], to = (int)next(NQ);
                rc = acd_engine_transfer(e, now, call, to, cls, key, (int)next(2));
                if (rc == ACD_OK) {
                    remember_call(call, cls, key);
                    if (give_moves(e, call, to) != ACD_OK)
                        return 21;
                }
            } else {
                rc = st == ACD_C_CONNECTED ? acd_engine_end(e, now, call)
                                           : acd_engine_abandon(e, now, call);
            }
        } else if (pick < 88) {
            rc = acd_engine_abandon(e, now, 1000000 + step);
            if (rc != ACD_EUNKNOWN_CALL)
                return 11;
        } else if (pick < 93 && have) { /* callbacks (refused where the call is not apt) */
            unsigned k = next(3);
            rc = k == 0   ? acd_engine_callback_requested(e, now, call)
                 : k == 1 ? acd_engine_callback_unanswered(e, now, call)
                          : acd_engine_callback_cancelled(e, now, call);
            if (rc == ACD_OK && k == 0)
                callbacks++;
        } else {
            rc = acd_engine_advance(e, now);
        }
        if (rc < 0) {
            if (rc != ACD_EUNKNOWN_AGENT && rc != ACD_EAGENT_STATE && rc != ACD_ENO_OFFER &&
                rc != ACD_EUNKNOWN_CALL && rc != ACD_ECALL_STATE)
                return 12;
            refusals++;
        } else {
            take_actions(e);
        }
        forget_dead(e);
        if (bad_hook) {
            printf("a malformed hook at step %d\n", step);
            return 22;
        }
        if (step % 500 == 0 && acd_engine_check(e) != ACD_OK) {
            printf("check %d at step %d\n", acd_engine_check(e), step);
            return 13;
        }
        if (step % 250 == 0 && export_all(e) != 0)
            return 18;
        if (step % 5000 == 4999 && !(e = reload(e))) /* carry on with a loaded copy */
            return 19;
    }
    /* Refusals at the boundary, with their codes. */
    double key[6] = {0, 0, 0, 0, 0, NAN};
    if (acd_engine_advance(e, now - 1.0) != ACD_EBACKWARDS ||
        acd_engine_advance(e, INFINITY) != ACD_EARG ||
        acd_engine_arrive(e, now, NQ, classes[0], key, -1) != ACD_EINDEX ||
        acd_engine_arrive(e, now, 0, classes[0], key, -1) != ACD_EARG ||
        acd_engine_pause(e, now, -1) != ACD_EINDEX || acd_engine_queue(e, 0, 0, 0.0, 0, -1, 0, 0, -1) != ACD_EARG ||
        acd_engine_queue_experience(e, 0, 0, 0.0, 0.0, 1, 45.0, 2, 300.0) != ACD_ESTATE)
        return 14;
    double due;
    if (acd_engine_next_deadline(e, &due) && acd_engine_pause(e, due + 1.0, 0) != ACD_EDUE)
        return 15;
    if (acd_engine_advance(e, now + 1000.0) != ACD_OK || acd_engine_check(e) != ACD_OK)
        return 16;
    int64_t nlv, done, gone, rej;
    uint32_t back[624];
    int index;
    acd_engine_scalars sc;
    if (acd_engine_counts(e, &nlv, &done, &gone, &rej) != ACD_OK ||
        acd_engine_rng_state(e, back, &index) != ACD_OK || acd_engine_scalars_get(e, &sc) != ACD_OK ||
        sc.call_seq != nlv + done + gone + rej + sc.overflowed + sc.self_service +
                            sc.callback_failed + sc.callback_cancelled)
        return 17; /* every arrival is live or ended one way */
    printf("live %lld completed %lld abandoned %lld rejected %lld overflowed %lld self-service %lld "
           "callbacks failed %lld cancelled %lld "
           "refusals %ld checksum %lld hooks %lld spoken %ld callbacks %ld placed %ld\n",
           (long long)nlv, (long long)done, (long long)gone, (long long)rej,
           (long long)sc.overflowed, (long long)sc.self_service, (long long)sc.callback_failed,
           (long long)sc.callback_cancelled, refusals, checksum, hooksum, spoken, callbacks, placed);
    acd_engine_free(e);
    acd_engine_free(NULL);
    return 0;
}
