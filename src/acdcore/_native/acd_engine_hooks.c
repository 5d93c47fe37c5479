/* acdcore native backend: the engine's estimator hooks (see acd_engine.h,
 * "estimator hooks") and the staffing counts they read.
 *
 * Each function is named after its Python reference:
 *
 *   _agents.py     staffing (every agent's staffed flag and each queue's
 *                  count of staffed members, kept whether hooks are on or
 *                  not: check() verifies them);
 *   _estimates.py  sample, context (hook_entered: the waiting call's
 *                  WaitContext), staff_for (staff_of, cached per class
 *                  until a member of its pool changes), count_competing;
 *   _experience.py hook_speak: the moment a call may hear an
 *                  announcement or a callback offer, with its context
 *                  (acd_engine_experience.c decides when).
 *
 * With hooks off, staffing is all that runs: the handlers' hook(),
 * hook_entered() and hook_sample() (acd_engine_internal.h) test the flag
 * inline and call nothing here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "acd_engine_internal.h"

/* ------------------------------------------------------------- staffing */

static int is_staffed(const eagent_t *a)
{
    return a->logged_in && !a->paused && !a->pending_logout;
}

void staffing(acd_engine *e, int ai)
{
    eagent_t *a = &e->a[ai];
    int now = is_staffed(a);
    if (now == a->staffed)
        return;
    a->staffed = now;
    int delta = now ? 1 : -1;
    for (int i = 0; i < a->nmq; i++) {
        e->q[a->mq[i]].staffed += delta;
        e->q[a->mq[i]].sgen++;
    }
}

void staff_changed(acd_engine *e, int ai)
{
    const eagent_t *a = &e->a[ai];
    for (int i = 0; i < a->nmq; i++)
        e->q[a->mq[i]].sgen++;
}

int acd_engine_staffed(const acd_engine *e, int queue)
{
    if (!e || queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    return e->q[queue].staffed;
}

/* ---------------------------------------------------------------- hooks */

static acd_hook *hook_new(acd_engine *e, int kind, int64_t call, int queue)
{
    if (eng_grow((void **)&e->hk, &e->caphook, e->nhook + 1, sizeof *e->hk)) {
        fail(e, ACD_ENOMEM);
        return NULL;
    }
    acd_hook *h = &e->hk[e->nhook++];
    memset(h, 0, sizeof *h);
    h->kind = kind;
    h->call = call;
    h->queue = queue;
    h->at = e->now;
    return h;
}

void hook_emit(acd_engine *e, int kind, int64_t call, int queue, double x)
{
    acd_hook *h = hook_new(e, kind, call, queue);
    if (h)
        h->x = x;
}

void hook_sample_emit(acd_engine *e)
{
    for (int qi = 0; qi < e->nq; qi++) {
        equeue_t *q = &e->q[qi];
        int waiting = acd_oq_len(q->waiting);
        if (waiting == q->s_wait && q->staffed == q->s_staff)
            continue;
        q->s_wait = waiting;
        q->s_staff = q->staffed;
        acd_hook *h = hook_new(e, ACD_H_SAMPLE, -1, qi);
        if (!h)
            return;
        h->n[0] = waiting;
        h->n[1] = q->staffed;
    }
}

/* Each queue's pool, rebuilt from the agents' membership lists when they
 * changed since the last build: O(agents + memberships). */
static int pools(acd_engine *e)
{
    if (e->pool_built && e->pool_gen == e->mq_gen)
        return ACD_OK;
    e->pool_built = 0;
    int total = 0;
    for (int ai = 0; ai < e->na; ai++)
        total += e->a[ai].nmq;
    /* Every allocation first: a failed one leaves the last build (or none)
     * in place, never a half-made one. */
    if (!e->pool_at && !(e->pool_at = calloc((size_t)e->nq + 1, sizeof *e->pool_at)))
        return ACD_ENOMEM;
    if (eng_grow((void **)&e->pool, &e->cappool, total + 1, sizeof *e->pool))
        return ACD_ENOMEM;
    if (e->na > e->capmark) {
        int old = e->capmark;
        if (eng_grow((void **)&e->amark, &e->capmark, e->na, sizeof *e->amark))
            return ACD_ENOMEM;
        memset(&e->amark[old], 0, sizeof *e->amark * (size_t)(e->capmark - old));
    }
    int *at = e->pool_at;
    memset(at, 0, sizeof *at * (size_t)(e->nq + 1));
    for (int ai = 0; ai < e->na; ai++)
        for (int i = 0; i < e->a[ai].nmq; i++)
            at[e->a[ai].mq[i] + 1]++;
    for (int q = 0; q < e->nq; q++)
        at[q + 1] += at[q];
    for (int ai = 0; ai < e->na; ai++) /* agents in index order within each pool */
        for (int i = 0; i < e->a[ai].nmq; i++)
            e->pool[at[e->a[ai].mq[i]]++] = ai;
    for (int q = e->nq; q > 0; q--) /* back to the starts */
        at[q] = at[q - 1];
    at[0] = 0;
    e->pool_gen = e->mq_gen;
    e->pool_built = 1;
    return ACD_OK;
}

/* A fresh mark for agents visited by one count (clearing every mark once
 * when the stamp wraps). */
static unsigned new_mark(acd_engine *e)
{
    if (++e->pstamp == 0) {
        if (e->capmark)
            memset(e->amark, 0, sizeof *e->amark * (size_t)e->capmark);
        e->pstamp = 1;
    }
    return e->pstamp;
}

/* _estimates.staff_for: the staffed agents of the pool who could take a
 * call of class cls in queue (their count, their capacity on its channel,
 * whether one of them serves another queue too) into *out. O(the pool's
 * agents) when a member of the pool's queues changed its staffing, skills
 * or memberships since the class's last count (and
 * O(agents + memberships) more when the memberships did), else O(1).
 * ACD_OK or ACD_ENOMEM. */
static int staff_of(acd_engine *e, int queue, int cls, const estaff_t **out)
{
    if (cls >= e->capstaff) {
        int old = e->capstaff;
        if (eng_grow((void **)&e->staff, &e->capstaff, cls + 1, sizeof *e->staff))
            return ACD_ENOMEM;
        memset(&e->staff[old], 0, sizeof *e->staff * (size_t)(e->capstaff - old));
    }
    estaff_t *s = &e->staff[cls];
    *out = s;
    const eclass_t *k = &e->cls[cls];
    unsigned long long gen = e->q[queue].sgen;
    for (int x = 0; x < k->nextra; x++)
        gen += e->q[k->extra[x]].sgen;
    if (s->valid && s->gen == gen && s->queue == queue)
        return ACD_OK;
    s->valid = 0;
    s->n = s->servers = s->shared = 0;
    int rc = pools(e);
    if (rc)
        return rc;
    unsigned mark = new_mark(e);
    for (int x = -1; x < k->nextra; x++) { /* the queue's pool, then each added queue's */
        int q = x < 0 ? queue : k->extra[x];
        for (int p = e->pool_at[q]; p < e->pool_at[q + 1]; p++) {
            int ai = e->pool[p];
            const eagent_t *a = &e->a[ai];
            if (e->amark[ai] == mark)
                continue;
            e->amark[ai] = mark;
            if (!a->staffed || !eligible(e, a, cls))
                continue;
            if (eng_grow((void **)&s->who, &s->cap, s->n + 1, sizeof *s->who))
                return ACD_ENOMEM;
            s->who[s->n++] = ai;
            s->servers += a->cap[k->channel];
            if (a->nmq > 1)
                s->shared = 1;
        }
    }
    if (k->nextra)
        s->shared = 1;
    s->agents = s->n;
    s->queue = queue;
    s->gen = gen;
    s->valid = 1;
    return ACD_OK;
}

/* _estimates.count_competing: how many of the `ahead` calls before the
 * call in its queue one of the staff could take too (none when there is no
 * staff), into *out; a verdict per class of call ahead. O(ahead + classes
 * x staff). ACD_OK or ACD_ENOMEM. */
static int competing(acd_engine *e, const equeue_t *q, int ahead, const estaff_t *s,
                     int64_t *out)
{
    *out = 0;
    if (s->n == 0 || ahead == 0)
        return ACD_OK;
    if (eng_grow((void **)&e->htmp, &e->caphtmp, ahead, sizeof *e->htmp))
        return ACD_ENOMEM;
    if (e->ncls > e->capv) {
        int c1 = e->capv, c2 = e->capv;
        if (eng_grow((void **)&e->vmark, &c1, e->ncls, sizeof *e->vmark) ||
            eng_grow((void **)&e->vval, &c2, e->ncls, sizeof *e->vval))
            return ACD_ENOMEM;
        memset(e->vmark, 0, sizeof *e->vmark * (size_t)c1);
        e->capv = c1 < c2 ? c1 : c2;
    }
    if (++e->vstamp == 0) { /* wrapped: clear every mark once */
        if (e->capv)
            memset(e->vmark, 0, sizeof *e->vmark * (size_t)e->capv);
        e->vstamp = 1;
    }
    acd_oq_slice(q->waiting, 0, ahead, e->htmp);
    int64_t n = 0;
    for (int i = 0; i < ahead; i++) {
        int cls = e->c[acd_oq_ref(q->waiting, e->htmp[i])].cls;
        if (e->vmark[cls] != e->vstamp) {
            const eclass_t *k = &e->cls[cls];
            int shares = 0;
            for (int j = 0; j < s->n && !shares; j++) {
                const eagent_t *a = &e->a[s->who[j]];
                shares = a->cap[k->channel] > 0 && meets(e, cls, a->nsk, a->sk, a->lv);
            }
            e->vmark[cls] = e->vstamp;
            e->vval[cls] = (unsigned char)shares;
        }
        n += e->vval[cls];
    }
    *out = n;
    return ACD_OK;
}

/* _estimates.context: waiting call ci's WaitContext, as an ACD_H_ENTERED
 * hook holds it, into h (its other fields untouched). ACD_OK or a code. */
static int context_of(acd_engine *e, int ci, acd_hook *h)
{
    const ecall_t *c = &e->c[ci];
    const equeue_t *q = &e->q[c->queue];
    int ahead = acd_oq_index(q->waiting, c->oqh);
    if (ahead < 0)
        return ACD_ESTATE;
    const estaff_t *s;
    int64_t n;
    int rc = staff_of(e, c->queue, c->cls, &s);
    if (rc == ACD_OK)
        rc = competing(e, q, ahead, s, &n);
    if (rc)
        return rc;
    h->n[0] = ahead;
    h->n[1] = acd_oq_len(q->waiting);
    h->n[2] = s->servers;
    h->n[3] = s->agents;
    h->n[4] = s->shared;
    h->n[5] = n;
    h->x = NAN;
    if (ahead > 0) {
        int head = acd_oq_ref(q->waiting, acd_oq_first(q->waiting));
        h->x = e->now - e->c[head].entered;
    }
    h->y = e->now - c->entered;
    return ACD_OK;
}

void hook_entered_emit(acd_engine *e, int ci)
{
    acd_hook *h = hook_new(e, ACD_H_ENTERED, e->c[ci].seq, e->c[ci].queue);
    if (!h)
        return;
    int rc = context_of(e, ci, h);
    if (rc)
        fail(e, rc);
}

void hook_speak(acd_engine *e, int ci, int kind, int entered)
{
    acd_hook prev = {0};
    if (entered) {
        if (!e->nhook || e->hk[e->nhook - 1].kind != ACD_H_ENTERED ||
            e->hk[e->nhook - 1].call != e->c[ci].seq) {
            fail(e, ACD_ESTATE); /* not called right after the call's on_entered */
            return;
        }
        prev = e->hk[e->nhook - 1]; /* (hook_new may move the buffer) */
    }
    acd_hook *h = hook_new(e, kind, e->c[ci].seq, e->c[ci].queue);
    if (!h)
        return;
    if (entered) {
        *h = prev;
        h->kind = kind;
    } else {
        int rc = context_of(e, ci, h);
        if (rc) {
            fail(e, rc);
            return;
        }
    }
    emit(e, ACD_A_SPEAK, 0, e->c[ci].seq, -1, e->c[ci].queue, e->nhook - 1, 0.0, 0.0);
}

void hooks_free(acd_engine *e)
{
    for (int i = 0; i < e->capstaff; i++)
        free(e->staff[i].who);
    free(e->staff);
    free(e->hk);
    free(e->htmp);
    free(e->vmark);
    free(e->vval);
    free(e->pool_at);
    free(e->pool);
    free(e->amark);
}

/* ------------------------------------------------------------------ API */

int acd_engine_set_hooks(acd_engine *e, int on)
{
    if (!e || (on != 0 && on != 1))
        return ACD_EARG;
    if (e->sealed)
        return ACD_ESTATE;
    e->hooks = on;
    return ACD_OK;
}

const acd_hook *acd_engine_hooks(const acd_engine *e)
{
    return e ? e->hk : NULL;
}

int acd_engine_sampled(const acd_engine *e, int queue, int *waiting, int *staffed)
{
    if (!e || queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    if (!waiting || !staffed)
        return ACD_EARG;
    *waiting = e->q[queue].s_wait;
    *staffed = e->q[queue].s_staff;
    return ACD_OK;
}

int acd_engine_context(acd_engine *e, int64_t call, acd_hook *out)
{
    if (!e || !out)
        return ACD_EARG;
    if (e->broken)
        return e->broken;
    int ci = call_find(e, call);
    if (ci < 0)
        return ACD_EUNKNOWN_CALL;
    if (e->c[ci].state != ACD_C_WAITING)
        return ACD_ECALL_STATE;
    memset(out, 0, sizeof *out);
    out->kind = ACD_H_ENTERED;
    out->call = call;
    out->queue = e->c[ci].queue;
    out->at = e->now;
    return context_of(e, ci, out);
}
