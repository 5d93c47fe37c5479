/* acdcore native backend: the engine (see acd_engine.h for the contract).
 *
 * Files
 * -----
 * acd_engine_internal.h  the structures;
 * acd_engine.c           this file: the engine's life, its configuration
 *                        (queues, classes), the call table and the reads;
 * acd_engine_check.c     check(): every invariant of the engine's state;
 * acd_engine_flow.c      the mechanics the handlers share (actions,
 *                        deadlines and what each does when it fires,
 *                        sessions, the sync to the core, queueing, offers,
 *                        misses, routing);
 * acd_engine_stages.c    a routing plan's relaxation stages (the table,
 *                        who could take a call, entering a stage);
 * acd_engine_events.c    the event handlers (and advance);
 * acd_engine_hooks.c     the staffing counts and the estimators' hooks;
 *                        every function is named after its Python reference
 *                        in src/acdcore/.
 *
 * Memory: per live call one slab entry (ecall_t, about 170 bytes) plus its
 * hash slot and its queue's treap node; per agent an eagent_t and its
 * sessions; the core's own (acd_native.c) and the deadline heap (40 bytes
 * per armed deadline, dead ones included until they reach the top).
 */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "acd_engine_internal.h"

int acd_engine_abi_version(void) { return ACD_ENGINE_ABI; }

int eng_grow(void **arr, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return ACD_OK;
    int ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > (1 << 29))
            return ACD_ENOMEM;
        ncap *= 2;
    }
    void *p = realloc(*arr, (size_t)ncap * size);
    if (!p)
        return ACD_ENOMEM;
    *arr = p;
    *cap = ncap;
    return ACD_OK;
}

/* ------------------------------------------------------------------- life */

acd_engine *acd_engine_new(int nqueues, double start, const uint32_t *rng_words, int rng_index)
{
    if (nqueues < 1 || nqueues > (1 << 20) || !isfinite(start) || !rng_words)
        return NULL;
    acd_engine *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (acd_rng_set_state(&e->rng, rng_words, rng_index) != ACD_OK) {
        free(e);
        return NULL;
    }
    e->core = acd_new(nqueues);
    e->heap = acd_heap_new();
    e->q = calloc((size_t)nqueues, sizeof *e->q);
    if (!e->core || !e->heap || !e->q) {
        acd_free(e->core);
        acd_heap_free(e->heap);
        free(e->q);
        free(e);
        return NULL;
    }
    e->nq = nqueues;
    for (int i = 0; i < nqueues; i++) {
        e->q[i].max_length = -1;
        e->q[i].auto_pause_after = -1;
        e->q[i].rr_last = -1;
        e->q[i].ring_timeout = 15.0;
        e->q[i].cb_dial = 45.0; /* CallbackPolicy's defaults */
        e->q[i].cb_retries = 2;
        e->q[i].cb_retry_delay = 300.0;
        e->q[i].preferred_wait = 30.0;
        e->q[i].no_answer_delay = 5.0;
        e->q[i].mw_kind = ACD_X_NONE;
        e->q[i].le_kind = ACD_X_NONE;
        e->q[i].s_wait = e->q[i].s_staff = -1;
        /* Positions by the calls' own keys in the slab (no copy). */
        e->q[i].waiting =
            acd_oq_new_shared((const void *const *)&e->c, sizeof(ecall_t), offsetof(ecall_t, key));
        if (!e->q[i].waiting) {
            acd_engine_free(e);
            return NULL;
        }
    }
    e->now = start;
    e->free_call = -1;
    return e;
}

void acd_engine_free(acd_engine *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->nq; i++) {
        acd_oq_free(e->q[i].waiting);
        free(e->q[i].borrow);
    }
    free(e->q);
    free(e->surgeq);
    for (int i = 0; i < e->ncls; i++) {
        free(e->cls[i].skill);
        free(e->cls[i].minimum);
        free(e->cls[i].extra);
    }
    free(e->cls);
    for (int i = 0; i < e->na; i++) {
        free(e->a[i].sess);
        free(e->a[i].mq);
        free(e->a[i].ans);
        free(e->a[i].sk);
        free(e->a[i].lv);
    }
    free(e->a);
    for (int i = 0; i < e->nc; i++) {
        free(e->c[i].many);
        if (e->c[i].st)
            free(e->c[i].st->mv);
        free(e->c[i].st);
    }
    free(e->c);
    free(e->hash);
    free(e->slot_call);
    free(e->act);
    free(e->out_agent);
    free(e->out_weight);
    free(e->sync_seq);
    free(e->sync_ch);
    free(e->tmp);
    free(e->ltmp);
    hooks_free(e);
    acd_heap_free(e->heap);
    acd_free(e->core);
    free(e);
}

/* ---------------------------------------------------------- configuration */

int acd_engine_queue(acd_engine *e, int queue, int strategy, double ring_timeout,
                     double wrap_up, int max_length, double preferred_wait,
                     double no_answer_delay, int auto_pause_after)
{
    if (!e)
        return ACD_EARG;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    if (!isfinite(ring_timeout) || ring_timeout <= 0 || !isfinite(wrap_up) || wrap_up < 0 ||
        !isfinite(preferred_wait) || preferred_wait < 0 || !isfinite(no_answer_delay) ||
        no_answer_delay < 0 || max_length < -1 || (auto_pause_after < 1 && auto_pause_after != -1))
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    int rc = acd_queue_set(e->core, queue, strategy);
    if (rc < 0)
        return rc;
    equeue_t *q = &e->q[queue];
    q->configured = 1;
    q->strategy = strategy;
    q->ring_timeout = ring_timeout;
    q->wrap_up = wrap_up;
    q->max_length = max_length;
    q->preferred_wait = preferred_wait;
    q->no_answer_delay = no_answer_delay;
    q->auto_pause_after = auto_pause_after;
    return ACD_OK;
}

int acd_engine_class(acd_engine *e, int nreq, const int *skill, const int *minimum, int channel)
{
    return acd_engine_class_ex(e, nreq, skill, minimum, channel, 0, NULL);
}

int acd_engine_class_ex(acd_engine *e, int nreq, const int *skill, const int *minimum,
                        int channel, int nextra, const int *extra)
{
    return acd_engine_class_rx(e, nreq, skill, minimum, channel, -1, nextra, extra);
}

int acd_engine_class_rx(acd_engine *e, int nreq, const int *skill, const int *minimum,
                        int channel, int region, int nextra, const int *extra)
{
    if (!e)
        return ACD_EARG;
    if (nreq < 0 || nreq > 1024 || (nreq && (!skill || !minimum)) || channel < 0 ||
        channel >= ACD_NCH || nextra < 0 || nextra > e->nq || (nextra && !extra) ||
        region < -1 || region > (1 << 24))
        return ACD_EARG;
    for (int i = 0; i < nreq; i++)
        if (skill[i] < 0 || skill[i] > (1 << 24) || minimum[i] < 0 || minimum[i] > 255)
            return ACD_EARG;
    for (int i = 0; i < nextra; i++)
        if (extra[i] < 0 || extra[i] >= e->nq)
            return ACD_EINDEX;
    if (e->broken)
        return e->broken;
    for (int k = 0; k < e->ncls; k++) {
        const eclass_t *c = &e->cls[k];
        if (c->nreq != nreq || c->channel != channel || c->nextra != nextra ||
            c->region != region)
            continue;
        int same = 1;
        for (int i = 0; i < nreq && same; i++)
            same = c->skill[i] == skill[i] && c->minimum[i] == minimum[i];
        for (int i = 0; i < nextra && same; i++)
            same = c->extra[i] == extra[i];
        if (same)
            return k;
    }
    if (eng_grow((void **)&e->cls, &e->capcls, e->ncls + 1, sizeof *e->cls))
        return ACD_ENOMEM;
    eclass_t c;
    c.nreq = nreq;
    c.channel = channel;
    c.region = region;
    c.nextra = nextra;
    c.skill = malloc(sizeof(int) * (size_t)(nreq ? nreq : 1));
    c.minimum = malloc(sizeof(int) * (size_t)(nreq ? nreq : 1));
    c.extra = nextra ? malloc(sizeof(int) * (size_t)nextra) : NULL;
    if (!c.skill || !c.minimum || (nextra && !c.extra)) {
        free(c.skill);
        free(c.minimum);
        free(c.extra);
        return ACD_ENOMEM;
    }
    if (nreq) {
        memcpy(c.skill, skill, sizeof(int) * (size_t)nreq);
        memcpy(c.minimum, minimum, sizeof(int) * (size_t)nreq);
    }
    if (nextra)
        memcpy(c.extra, extra, sizeof(int) * (size_t)nextra);
    int id = acd_class_add(e->core, nreq, skill, minimum, channel, region, nextra, extra);
    if (id < 0 || id != e->ncls) { /* the engine is the core's only client */
        free(c.skill);
        free(c.minimum);
        free(c.extra);
        return id < 0 ? id : ACD_ESTATE;
    }
    e->cls[e->ncls++] = c;
    return id;
}

int acd_engine_borrowers(acd_engine *e, int queue, int n, const int *borrowers)
{
    if (!e)
        return ACD_EARG;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    if (n < 0 || n > e->nq || (n && !borrowers))
        return ACD_EARG;
    for (int i = 0; i < n; i++)
        if (borrowers[i] < 0 || borrowers[i] >= e->nq || borrowers[i] == queue)
            return ACD_EINDEX;
    if (e->broken)
        return e->broken;
    if (e->sealed)
        return ACD_ESTATE;
    int *copy = n ? malloc(sizeof(int) * (size_t)n) : NULL;
    if (n && !copy)
        return ACD_ENOMEM;
    if (n)
        memcpy(copy, borrowers, sizeof(int) * (size_t)n);
    equeue_t *q = &e->q[queue];
    free(q->borrow);
    q->borrow = copy;
    q->nborrow = n;
    return ACD_OK;
}

static int exit_ok(const acd_engine *e, int kind, int target)
{
    if (kind == ACD_X_QUEUE)
        return target >= 0 && target < e->nq;
    return kind == ACD_O_REJECTED || kind == ACD_O_OVERFLOWED || kind == ACD_O_SELF_SERVICE;
}

int acd_engine_queue_exits(acd_engine *e, int queue, double max_wait, int on_max_wait,
                           int max_wait_target, int leave_empty, int leave_empty_target)
{
    if (!e)
        return ACD_EARG;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    int has_mw = !isnan(max_wait);
    if ((has_mw && !(max_wait > 0)) || (has_mw && !exit_ok(e, on_max_wait, max_wait_target)) ||
        (leave_empty != ACD_X_NONE && !exit_ok(e, leave_empty, leave_empty_target)))
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    if (e->sealed)
        return ACD_ESTATE;
    equeue_t *q = &e->q[queue];
    q->max_wait = has_mw ? max_wait : 0.0;
    q->mw_kind = has_mw ? on_max_wait : ACD_X_NONE;
    q->mw_target = has_mw && on_max_wait == ACD_X_QUEUE ? max_wait_target : -1;
    q->le_kind = leave_empty;
    q->le_target = leave_empty == ACD_X_QUEUE ? leave_empty_target : -1;
    return ACD_OK;
}

int acd_engine_queue_surge(acd_engine *e, int queue, int enter_waiting, int leave_waiting)
{
    if (!e)
        return ACD_EARG;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    if (enter_waiting < 1 || leave_waiting < 0 || leave_waiting >= enter_waiting)
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    if (e->sealed)
        return ACD_ESTATE;
    for (int i = 0; i < e->nsurge; i++)
        if (e->surgeq[i] == queue)
            return ACD_ESTATE; /* once per queue */
    int *q = realloc(e->surgeq, sizeof *q * (size_t)(e->nsurge + 1));
    if (!q)
        return ACD_ENOMEM;
    e->surgeq = q;
    e->surgeq[e->nsurge++] = queue;
    e->q[queue].surge_enter = enter_waiting;
    e->q[queue].surge_leave = leave_waiting;
    return ACD_OK;
}

int acd_engine_queue_experience(acd_engine *e, int queue, int announce, double first,
                                double every, int callback, double dial_timeout, int retries,
                                double retry_delay)
{
    if (!e)
        return ACD_EARG;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    if ((announce != 0 && announce != 1) || (callback != 0 && callback != 1) ||
        (announce && (!(first >= 0) || !isfinite(first) || !(every > 0) || !isfinite(every))) ||
        !(dial_timeout > 0) || !isfinite(dial_timeout) || retries < 0 || !(retry_delay >= 0) ||
        !isfinite(retry_delay))
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    if (e->sealed)
        return ACD_ESTATE;
    equeue_t *q = &e->q[queue];
    q->ann = announce;
    q->ann_first = announce ? first : 0.0;
    q->ann_every = announce ? every : 0.0;
    q->cb = callback;
    q->cb_dial = dial_timeout; /* (a callback moved here from a callback queue uses them) */
    q->cb_retries = retries;
    q->cb_retry_delay = retry_delay;
    return ACD_OK;
}

int acd_engine_load_guard(acd_engine *e, double min_answer_rate, int window, int min_offers)
{
    if (!e)
        return ACD_EARG;
    if (!(min_answer_rate >= 0 && min_answer_rate <= 1) || window < 1 || window > (1 << 24) ||
        min_offers < 1 || min_offers > window)
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    if (e->sealed || e->guard_window)
        return ACD_ESTATE;
    e->guard_rate = min_answer_rate;
    e->guard_window = window;
    e->guard_min = min_offers;
    return ACD_OK;
}

int acd_engine_export_answers(const acd_engine *e, int agent, unsigned char *out, int max)
{
    if (!e || max < 0 || (max > 0 && !out))
        return ACD_EARG;
    if (agent < 0 || agent >= e->na)
        return ACD_EINDEX;
    const eagent_t *a = &e->a[agent];
    if (max < a->ans_n)
        return a->ans_n;
    for (int i = 0; i < a->ans_n; i++)
        out[i] = a->ans[(a->ans_head + i) % e->guard_window];
    return a->ans_n;
}

int acd_engine_surge(const acd_engine *e, int queue)
{
    if (!e)
        return ACD_EARG;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    return e->q[queue].surge;
}

int acd_engine_call_moves(acd_engine *e, int64_t call, int n, const int *queue, const int *cls,
                          const double *keys)
{
    if (!e)
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    if (n < 0 || n > e->nq || (n && (!queue || !cls || !keys)))
        return ACD_EARG;
    ecall_t *c = &e->c[ci];
    for (int i = 0; i < n; i++) {
        if (queue[i] < 0 || queue[i] >= e->nq || cls[i] < 0 || cls[i] >= e->ncls)
            return ACD_EINDEX;
        if (e->cls[cls[i]].channel != c->channel)
            return ACD_EARG;
        for (int k = 0; k < ACD_KEYLEN; k++)
            if (isnan(keys[i * ACD_KEYLEN + k]))
                return ACD_EARG;
    }
    if (n && plan_table(e, ci))
        return ACD_ENOMEM;
    emoves_t *mv = call_moves(c);
    if (n && (!mv || mv->cap < n)) {
        emoves_t *t = realloc(mv, sizeof *t + sizeof t->m[0] * (size_t)n);
        if (!t)
            return ACD_ENOMEM;
        t->cap = n;
        c->st->mv = mv = t;
    }
    for (int i = 0; i < n; i++) {
        mv->m[i].queue = queue[i];
        mv->m[i].cls = cls[i];
        memcpy(mv->m[i].key, &keys[i * ACD_KEYLEN], sizeof mv->m[i].key);
    }
    if (mv)
        mv->n = n;
    return ACD_OK;
}

/* ------------------------------------------------------------- the tables */

/* Room for agent index `agent` (entries up to it exist, zeroed). */
int agent_reserve(acd_engine *e, int agent)
{
    if (agent < e->na)
        return ACD_OK;
    if (eng_grow((void **)&e->a, &e->capa, agent + 1, sizeof *e->a))
        return ACD_ENOMEM;
    memset(&e->a[e->na], 0, sizeof *e->a * (size_t)(agent + 1 - e->na));
    for (int i = e->na; i <= agent; i++)
        e->a[i].wake_timer = -1;
    e->na = agent + 1;
    return ACD_OK;
}

static unsigned hash_of(int64_t seq, int cap)
{
    uint64_t x = (uint64_t)seq * 0x9E3779B97F4A7C15ULL;
    x ^= x >> 29;
    return (unsigned)(x & (uint64_t)(cap - 1));
}

int call_find(const acd_engine *e, int64_t seq)
{
    if (!e->caphash)
        return -1;
    for (unsigned i = hash_of(seq, e->caphash);; i = (i + 1) & (unsigned)(e->caphash - 1)) {
        int ci = e->hash[i];
        if (ci < 0 || e->c[ci].seq == seq)
            return ci;
    }
}

static void hash_put(acd_engine *e, int ci)
{
    unsigned i = hash_of(e->c[ci].seq, e->caphash);
    while (e->hash[i] >= 0)
        i = (i + 1) & (unsigned)(e->caphash - 1);
    e->hash[i] = ci;
}

/* Room for one more live call: a slab entry and a hash slot. Changes
 * nothing observable (a rehash keeps every call findable). */
int call_reserve(acd_engine *e)
{
    if (e->free_call < 0 &&
        eng_grow((void **)&e->c, &e->capc, e->nc + 1, sizeof *e->c))
        return ACD_ENOMEM;
    if ((long long)(e->live + 1) * 2 > e->caphash) {
        int ncap = e->caphash ? e->caphash * 2 : 64;
        if (ncap > (1 << 30))
            return ACD_ENOMEM;
        int *h = malloc(sizeof(int) * (size_t)ncap);
        if (!h)
            return ACD_ENOMEM;
        for (int i = 0; i < ncap; i++)
            h[i] = -1;
        free(e->hash);
        e->hash = h;
        e->caphash = ncap;
        for (int ci = 0; ci < e->nc; ci++)
            if (e->c[ci].used)
                hash_put(e, ci);
    }
    return ACD_OK;
}

/* A new live call (after call_reserve): its slab index. */
int call_new(acd_engine *e, int64_t seq)
{
    int ci;
    if (e->free_call >= 0) {
        ci = e->free_call;
        e->free_call = e->c[ci].next_free;
    } else {
        ci = e->nc++;
        e->c[ci].many = NULL;
        e->c[ci].capmany = 0;
        e->c[ci].st = NULL;
    }
    ecall_t *c = &e->c[ci];
    int *many = c->many, capmany = c->capmany;
    estages_t *st = c->st;
    memset(c, 0, sizeof *c);
    c->many = many; /* kept for reuse */
    c->capmany = capmany;
    c->st = st;
    stages_clear(c);
    call_mw_clear(c);
    call_ann_clear(c);
    if (st) {
        st->heard = 0;
        st->attempts = 0;
    }
    if (call_moves(c))
        st->mv->n = 0;
    c->used = 1;
    c->seq = seq;
    c->slot = -1;
    c->oqh = -1;
    c->preferred = -1;
    c->agent = -1;
    c->recheck_timer = -1;
    hash_put(e, ci);
    e->live++;
    return ci;
}

/* The call is no longer live: out of the hash map (backward shift, so no
 * tombstones), its entry back on the free list. */
void call_delete(acd_engine *e, int ci)
{
    unsigned mask = (unsigned)(e->caphash - 1);
    unsigned i = hash_of(e->c[ci].seq, e->caphash);
    while (e->hash[i] != ci)
        i = (i + 1) & mask;
    unsigned j = i;
    for (;;) {
        j = (j + 1) & mask;
        int cj = e->hash[j];
        if (cj < 0)
            break;
        unsigned home = hash_of(e->c[cj].seq, e->caphash);
        /* move cj back to i unless its home lies cyclically in (i, j] */
        if (((j - home) & mask) >= ((j - i) & mask)) {
            e->hash[i] = cj;
            i = j;
        }
    }
    e->hash[i] = -1;
    ecall_t *c = &e->c[ci];
    c->used = 0;
    c->noffers = 0;
    c->inmany = 0;
    c->next_free = e->free_call;
    e->free_call = ci;
    e->live--;
}

/* Is a deadline still expected by what it names (_deadlines.timer_live)? */
int timer_live(const acd_engine *e, const acd_deadline *d)
{
    if (d->kind == EK_WRAP) {
        if (d->ref < 0 || d->ref >= e->na)
            return 0;
        const eagent_t *a = &e->a[d->ref];
        for (int i = 0; i < a->nsess; i++)
            if (a->sess[i].call == d->token)
                return a->sess[i].state == ES_WRAP && a->sess[i].wrap_tseq == d->seq;
        return 0;
    }
    if (d->kind == EK_WAKE)
        return d->ref >= 0 && d->ref < e->na && e->a[d->ref].wake_timer == d->seq;
    int ci = call_find(e, d->ref);
    if (ci < 0)
        return 0;
    const ecall_t *c = &e->c[ci];
    if (d->kind == EK_RING)
        return c->state == ACD_C_RINGING && c->ring_round == d->token;
    if (d->kind == EK_STAGE)
        return call_stage_timer(c) == d->seq;
    if (d->kind == EK_MAXWAIT)
        return call_mw_timer(c) == d->seq;
    if (d->kind == EK_ANNOUNCE)
        return call_ann_timer(c) == d->seq;
    if (d->kind == EK_RETRY)
        return c->state == ACD_C_PENDING && call_attempts(c) == d->token;
    return c->recheck_timer == d->seq;
}

/* ------------------------------------------------------------------ reads */

const acd_action *acd_engine_actions(const acd_engine *e, int *n)
{
    if (n)
        *n = e ? e->nact : 0;
    return e ? e->act : NULL;
}

const acd_engine_status *acd_engine_status_of(const acd_engine *e)
{
    return e ? &e->status : NULL;
}

int acd_engine_next_deadline(const acd_engine *e, double *when)
{
    acd_deadline d;
    if (!e || !when || acd_heap_peek(e->heap, &d) != 1)
        return 0;
    *when = d.when;
    return 1;
}

double acd_engine_now(const acd_engine *e) { return e ? e->now : NAN; }

int64_t acd_engine_next_seq(const acd_engine *e) { return e ? e->next_seq : ACD_EARG; }

int acd_engine_call(const acd_engine *e, int64_t call, int *state, int *queue, int *agent,
                    int *noffers)
{
    if (!e || !state || !queue || !agent || !noffers)
        return ACD_EARG;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    const ecall_t *c = &e->c[ci];
    *state = c->state;
    *queue = c->queue;
    *agent = c->agent;
    *noffers = c->noffers;
    return ACD_OK;
}

int acd_engine_agent(const acd_engine *e, int agent, int *paused, int *pending_logout,
                     int *sessions)
{
    if (!e || !paused || !pending_logout || !sessions)
        return ACD_EARG;
    if (agent < 0 || agent > ENGINE_MAX_AGENT)
        return ACD_EINDEX;
    if (agent >= e->na) {
        *paused = *pending_logout = *sessions = 0;
        return 0;
    }
    const eagent_t *a = &e->a[agent];
    *paused = a->paused;
    *pending_logout = a->pending_logout;
    *sessions = a->nsess;
    return a->logged_in;
}

int acd_engine_members(const acd_engine *e, int queue)
{
    if (!e)
        return ACD_EARG;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    return e->q[queue].members;
}

int acd_engine_counts(const acd_engine *e, int64_t *live, int64_t *completed,
                      int64_t *abandoned, int64_t *rejected)
{
    if (!e || !live || !completed || !abandoned || !rejected)
        return ACD_EARG;
    *live = e->live;
    *completed = e->completed;
    *abandoned = e->abandoned;
    *rejected = e->rejected;
    return ACD_OK;
}

int acd_engine_set_draw(acd_engine *e, acd_draw_fn draw, void *ctx)
{
    if (!e)
        return ACD_EARG;
    e->draw = draw;
    e->draw_ctx = draw ? ctx : NULL;
    return ACD_OK;
}

int acd_engine_rng_state(const acd_engine *e, uint32_t *words, int *index)
{
    if (!e)
        return ACD_EARG;
    return acd_rng_get_state(&e->rng, words, index);
}

int *offers_of(ecall_t *c) { return c->inmany ? c->many : &c->one; }
