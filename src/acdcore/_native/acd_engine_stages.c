/* acdcore native backend: a routing plan's relaxation stages on the engine
 * (see acd_engine.h, acd_engine_arrive_planned). A call a plan rule gives
 * stages keeps a table (estages_t, allocated only for such calls): each
 * stage's class, the instant it expires and whether it is skipped when
 * nobody could take the call. Here: checking and setting a table, whether
 * an agent's skills, channels and region meet a class, and entering a stage
 * (the call's class changes, in the core too, and the next stage's deadline
 * is armed). Named after the Python reference, src/acdcore/_calls.py
 * (enter_stage, anyone_could_take) and router.skill_eligible (eligible).
 * Costs: a table O(stages); meets O(required x skills); anyone_could_take
 * O(agents x their queues), only for a skip-if-empty stage.
 */
#include <math.h>
#include <stdlib.h>

#include "acd_engine_internal.h"

/* Whether a relaxation table can be a call's: nst classes of the call's
 * channel, each stage but the last expiring at a finite instant. */
int stages_valid(const acd_engine *e, int channel, int nst, const int *cls, const double *expires)
{
    if (nst < 1 || nst > 4096 || !cls || !expires)
        return ACD_EARG;
    for (int i = 0; i < nst; i++) {
        if (cls[i] < 0 || cls[i] >= e->ncls)
            return ACD_EINDEX;
        if (e->cls[cls[i]].channel != channel || (i < nst - 1 && !isfinite(expires[i])))
            return ACD_EARG;
    }
    return ACD_OK;
}

/* Room for nst stages in call ci's plan table (made if it has none). */
static int table_room(acd_engine *e, int ci, int nst)
{
    ecall_t *c = &e->c[ci];
    if (c->st && c->st->cap >= nst)
        return ACD_OK;
    estages_t *t = realloc(c->st, sizeof *t + sizeof t->s[0] * (size_t)nst);
    if (!t)
        return ACD_ENOMEM;
    if (!c->st) {
        t->n = 0;
        t->cur = 0;
        t->timer = -1;
        t->mw_timer = -1;
        t->ann_timer = -1;
        t->next_ann = 0.0;
        t->heard = 0;
        t->attempts = 0;
        t->mv = NULL;
    }
    t->cap = nst;
    c->st = t;
    return ACD_OK;
}

int plan_table(acd_engine *e, int ci) { return table_room(e, ci, 0); }

/* Give call ci the relaxation table (checked by stages_valid), at stage 0
 * with no deadline; enter_stage makes a stage current. */
int stages_set(acd_engine *e, int ci, int nst, const int *cls, const double *expires,
               const unsigned char *skip)
{
    ecall_t *c = &e->c[ci];
    if (table_room(e, ci, nst))
        return ACD_ENOMEM;
    estages_t *t = c->st;
    for (int i = 0; i < nst; i++) {
        t->s[i].cls = cls[i];
        t->s[i].skip = skip ? skip[i] != 0 : 0;
        t->s[i].expires = i < nst - 1 ? expires[i] : INFINITY;
    }
    t->n = nst;
    t->cur = 0;
    t->timer = -1;
    return ACD_OK;
}

/* Whether skills (nsk ids with their levels) meet class cls's requirement
 * (SkillRequirement.met_by): O(required x nsk). */
int meets(const acd_engine *e, int cls, int nsk, const int *skill, const int *level)
{
    const eclass_t *k = &e->cls[cls];
    for (int r = 0; r < k->nreq; r++) {
        int have = 0;
        for (int i = 0; i < nsk; i++)
            if (skill[i] == k->skill[r])
                have = level[i];
        if (have < k->minimum[r])
            return 0;
    }
    return 1;
}

/* Whether agent a's channels, skills and region let it take a call of
 * class cls (router.skill_eligible, membership aside). */
int eligible(const acd_engine *e, const eagent_t *a, int cls)
{
    const eclass_t *k = &e->cls[cls];
    if (a->cap[k->channel] <= 0 || (k->region >= 0 && a->region != k->region))
        return 0;
    return meets(e, cls, a->nsk, a->sk, a->lv);
}

/* _calls.anyone_could_take: a logged-in member of queue or of class cls's
 * added queues can take a call of that class (free or not). O(agents x
 * their queues), only for a skip_if_empty stage. */
static int anyone_could_take(const acd_engine *e, int queue, int cls)
{
    const eclass_t *k = &e->cls[cls];
    for (int ai = 0; ai < e->na; ai++) {
        const eagent_t *a = &e->a[ai];
        if (!a->logged_in)
            continue;
        int member = 0;
        for (int i = 0; i < a->nmq && !member; i++) {
            member = a->mq[i] == queue;
            for (int x = 0; x < k->nextra && !member; x++)
                member = a->mq[i] == k->extra[x];
        }
        if (member && eligible(e, a, cls))
            return 1;
    }
    return 0;
}

/* Whether a call of queue entering a stage (its class, expiry and
 * skip_if_empty mark) at now moves on to the next at once: the stage has
 * expired, or it is skipped because nobody could take the call
 * (_calls.enter_stage's two tests; the last stage is never passed over,
 * which the callers see to). */
static int passed_over(const acd_engine *e, int queue, int cls, double expires, int skip,
                       double now)
{
    return expires <= now || (skip && !anyone_could_take(e, queue, cls));
}

/* _calls.enter_stage: make stage index current (the call takes its class;
 * a waiting call is restaged in the core), skipping stages already
 * expired, and arm the deadline of the next one. */
void enter_stage(acd_engine *e, int ci, int index)
{
    ecall_t *c = &e->c[ci];
    estages_t *t = c->st;
    t->timer = -1;
    for (;;) {
        t->cur = index;
        c->cls = t->s[index].cls;
        if (c->slot >= 0) {
            int rc = acd_call_restage(e->core, c->slot, c->cls);
            if (rc < 0) {
                fail(e, rc);
                return;
            }
        }
        if (index == t->n - 1)
            return;
        const estage_t *st = &t->s[index];
        if (passed_over(e, c->queue, st->cls, st->expires, st->skip, e->now)) {
            index++;
            continue;
        }
        t->timer = schedule(e, t->s[index].expires, EK_STAGE, c->seq, index + 1);
        return;
    }
}

int acd_engine_entry_stage(const acd_engine *e, double now, int queue, int nst, const int *cls,
                           const double *expires, const unsigned char *skip)
{
    if (!e || nst < 1 || !cls || !expires || isnan(now))
        return ACD_EARG;
    if (queue < 0 || queue >= e->nq)
        return ACD_EINDEX;
    for (int i = 0; i < nst; i++)
        if (cls[i] < 0 || cls[i] >= e->ncls)
            return ACD_EINDEX;
    int index = 0;
    while (index < nst - 1 &&
           passed_over(e, queue, cls[index], expires[index], skip && skip[index], now))
        index++;
    return index;
}
