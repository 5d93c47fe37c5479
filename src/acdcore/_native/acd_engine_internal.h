/* acdcore native backend, internal: the engine's structures (acd_engine.h is
 * the contract) and the functions its files share: acd_engine.c (the
 * engine's life, configuration, call table and reads), acd_engine_check.c
 * (the invariant check), acd_engine_flow.c (the mechanics: actions,
 * deadlines, sessions, queueing, offers, routing), acd_engine_stages.c (a
 * routing plan's relaxation stages), acd_engine_events.c (the event
 * handlers), acd_engine_hooks.c (staffing and the estimators' hooks),
 * acd_engine_export.c and acd_engine_load.c (the state out and
 * in). Not part of the module's interface.
 *
 * The engine keeps, per object, exactly what the Python handlers read and
 * write for a distributor (estimators hear its hooks, announcements and
 * callback offers are timed here and worded by the façade, callbacks run
 * here: acd_engine_hooks.c, acd_engine_experience.c), and
 * a routing plan only as far as distributor._plan_covered allows
 * (src/acdcore/_state.py's records, trimmed to that); the matching state
 * (free lists, waiting calls in buckets) is the core's (acd_native.h).
 */
#ifndef ACD_ENGINE_INTERNAL_H
#define ACD_ENGINE_INTERNAL_H

#include <stdint.h>

#include "acd_engine.h"
#include "acd_heap.h"
#include "acd_native.h"
#include "acd_queue.h"
#include "acd_rng.h"

#if defined(__GNUC__)
#define ACD_ENGINE_HIDDEN __attribute__((visibility("hidden")))
#else
#define ACD_ENGINE_HIDDEN
#endif

/* Deadline kinds: the values of src/acdcore/_deadlines.py. */
#define EK_RING 0   /* ref: call seq, token: the ring round it ends */
#define EK_WRAP 1   /* ref: agent, token: call seq of the session wrapping up */
#define EK_WAKE 2   /* ref: agent (live while the agent's wake_timer is its seq) */
#define EK_RECHECK 3 /* ref: call seq (live while the call's recheck_timer is its seq) */
#define EK_STAGE 4   /* ref: call seq, token: the stage it enters (live while the call's
                      * stage_timer is its seq) */
#define EK_MAXWAIT 5 /* ref: call seq (live while the call's mw_timer is its seq) */
#define EK_ANNOUNCE 6 /* ref: call seq (live while the call's ann_timer is its seq) */
#define EK_RETRY 7    /* ref: call seq, token: the attempts made (live while it is pending) */

/* Session states (SessionState). */
#define ES_RINGING 1
#define ES_CONNECTED 2
#define ES_WRAP 3

#define ENGINE_MAX_AGENT (1 << 28)
#define ENGINE_MAX_WEIGHT 4294967295LL /* weights sum exactly in 64 bits */

/* The strategies the engine draws for (STRATEGIES in core.py). */
#define ESTRAT_RANDOM 6
#define ESTRAT_WEIGHTED_RANDOM 7
#define ENGINE_MAX_SESS 4096 /* the core's limit on an agent's sessions */

/* A queue's configuration and its dynamic part. `waiting` holds the keys of
 * the calls waiting in it, in policy order, only to give Queued its
 * position (O(log n) insert, remove, index); the core holds the same calls
 * for matching. Its nodes hold no keys: they read the calls' own, in the
 * slab (acd_oq_new_shared), 24 bytes a waiting call. */
typedef struct {
    int configured;
    int strategy;
    int max_length;       /* -1: none */
    int auto_pause_after; /* -1: none */
    double ring_timeout, wrap_up, preferred_wait, no_answer_delay;
    int rr_last; /* order of the agent last offered a call of the queue, -1 none */
    acd_oq *waiting;
    /* Queues whose plan steps add this one (Distributor._borrowers): an
     * agent of this queue scans them too, after its own (configuration). */
    int nborrow;
    int *borrow;
    /* A routing plan's live-state exits (acd_engine_queue_exits): the
     * maximum wait (0: none) and its exit, the leave-empty exit (kind
     * ACD_X_NONE: none); each a kind (ACD_O_* or ACD_X_QUEUE) and, for
     * ACD_X_QUEUE, a target queue. */
    double max_wait;
    int mw_kind, mw_target, le_kind, le_target;
    int members; /* logged-in agents whose profile lists it (QueueRecord.members) */
    int staffed; /* of those, the staffed ones (QueueRecord.staffed) */
    unsigned long long sgen; /* bumped when a member's staffing, skills or membership changes */
    int s_wait, s_staff; /* (waiting, staffed) last told to the estimators (sampled) */
    /* Surge mode (acd_engine_queue_surge): the thresholds, and whether on. */
    int surge_enter, surge_leave, surge;
    /* Caller experience (acd_engine_queue_experience): announcements (the
     * first after ann_first seconds, then every ann_every) and whether the
     * queue offers callbacks. */
    int ann, cb;
    double ann_first, ann_every;
    int cb_retries;
    double cb_dial, cb_retry_delay;
} equeue_t;

/* A call class as the façade gave it (interned: the same requirement,
 * channel and added queues give the same id, found by a linear scan at
 * acd_engine_class_ex, O(classes x requirement)); its id is the core's
 * class id. */
typedef struct {
    int nreq;
    int *skill;
    int *minimum;
    int channel;
    int region; /* a regional stage's region id, -1: any */
    int nextra;
    int *extra; /* queues a plan step added, in order (NULL when none) */
} eclass_t;

/* One stage of a call's relaxation table (a plan rule's steps, resolved at
 * arrival: _calls.start_stages): its class, and the instant it expires
 * (INFINITY for the last, which never does). */
typedef struct {
    int cls;
    int skip; /* skip_if_empty: passed over when nobody could take the call */
    double expires;
} estage_t;

/* A call's plan table, allocated apart so that the many calls a plan
 * does not touch pay a pointer only: its relaxation table (n stages,
 * capacity cap, kept when the call's entry is reused; the current one and
 * its deadline's number, -1 none; n 0 for a call with no steps, whose one
 * plain stage is its class, cls), its queue's max-wait deadline number (-1
 * none), its move table (NULL or n 0: none), and its announcements: the
 * pending one's deadline number (-1 none) and instant, and whether it has
 * heard one (CallRecord.announced > 0; the count itself, which follows
 * the estimates, is the façade's). */
typedef struct emoves emoves_t;
typedef struct {
    int64_t timer;
    int64_t mw_timer;
    int64_t ann_timer;
    double next_ann;
    emoves_t *mv;
    int n, cap, cur;
    int heard;
    int attempts; /* a callback's attempts made */
    estage_t s[];
} estages_t;

/* Where a call goes in a queue an exit moves it to: that queue, and the
 * class and key the façade computed for it there. */
typedef struct {
    int queue, cls;
    double key[ACD_KEYLEN];
} emove_t;

/* A call's move table (acd_engine_call_moves), allocated apart like the
 * stages: n entries (capacity cap, kept when the call's entry is reused). */
struct emoves {
    int n, cap;
    emove_t m[];
};

/* One of an agent's sessions (AgentRecord.sessions): a call it rings with,
 * talks on or wraps up. An agent's sessions are kept in an array in the
 * order they were made (Python's dict order, which logout walks), removed
 * with a memmove: O(s) for s sessions, at most 64 by the core's limit. */
typedef struct {
    int64_t call;   /* the call's sequence number */
    int channel;
    int queue;      /* the call's queue when it was offered (wrap-up's) */
    int state;      /* ES_* */
    int64_t wrap_tseq; /* ES_WRAP: its deadline's scheduling number */
    double until;      /* ES_WRAP: when the wrap-up ends (Session.until) */
} esess_t;

/* An agent (AgentRecord), by index. `profiled` once it has logged in (the
 * core knows it); a named agent (a preferred agent never logged in) has a
 * zeroed entry. cap and excl are kept for check() only. */
typedef struct {
    int profiled;
    int order;
    int logged_in, paused, pending_logout;
    int staffed; /* logged in, not paused, not logging out (AgentRecord.staffed) */
    int misses;
    int cap[ACD_NCH];
    unsigned excl;
    double not_before, idle_since, talk_time, last_call_end;
    int has_last_end; /* last_call_end is not None: a call of it has ended */
    double calls_taken;
    int has_wake;     /* wake_at is not None */
    double wake_at;
    int64_t wake_timer; /* -1: none */
    int nsess, capsess;
    esess_t *sess;
    int nmq, capmq; /* the queues its profile lists (members of each while logged in) */
    int *mq;
    /* The load guard's memory (AgentRecord.answers): its last offers'
     * outcomes in a ring of the guard's window (allocated at the first),
     * oldest at ans_head; how many, and how many answered. */
    unsigned char *ans;
    int ans_head, ans_n, ans_sum;
    /* Its profile's region and skills (anyone_could_take reads them). */
    int region, nsk, capsk;
    int *sk, *lv;
} eagent_t;

/* The staffed agents of a class's pool (_estimates.staff_for) in queue,
 * as last computed: valid while the sum of the pool's queues' sgen is gen
 * (each only grows: an equal sum means none moved). */
typedef struct {
    unsigned long long gen;
    int valid, queue;
    int servers, agents, shared;
    int n, cap;
    int *who;
} estaff_t;

/* A live call (CallRecord), in a slab of entries reused through a free
 * list (`next_free`); found by sequence number through the engine's hash
 * map. Its ringing offers, in offer order: one agent is kept in `one`;
 * ring-all's longer lists in `many` (capacity `capmany`, kept when the
 * entry is reused), which `inmany` says is in use. */
typedef struct {
    int64_t seq;
    double key[ACD_KEYLEN];
    double arrived, entered, preferred_until, offered_at, answered_at;
    double recheck_at;     /* while has_recheck */
    int64_t recheck_timer; /* -1: none */
    int64_t ring_round;
    int *many;
    estages_t *st; /* its plan table (stages, max wait, moves), NULL when none */
    int next_free;
    int queue, cls;
    int slot;      /* core slot while waiting, -1 else */
    int oqh;       /* handle in its queue's `waiting`, -1 else */
    int preferred; /* agent index or -1 */
    int agent;     /* connected: the agent, -1 else */
    int noffers, capmany;
    int one;
    /* Small fields last, in bytes (184 bytes a call in all). */
    unsigned char used;
    unsigned char channel;
    unsigned char state; /* ACD_C_* */
    unsigned char has_recheck;
    unsigned char inmany;
    unsigned char callback; /* a callback (CallRecord.callback) */
} ecall_t;

struct acd_engine {
    acd_core *core;
    acd_heap *heap;
    acd_rng rng;
    acd_draw_fn draw; /* when set, draws are made by it (acd_engine_set_draw) */
    void *draw_ctx;
    double now;
    int64_t next_seq; /* the next arrival's sequence number */
    int64_t completed, abandoned, rejected;
    int64_t overflowed, self_service; /* arrivals a plan's exit sent away (acd_engine_exit) */
    int64_t callback_failed, callback_cancelled;
    int broken; /* nonzero (a code) once an allocation failed mid-event */
    int err;    /* the first failure of the running event (sticky) */

    int nq;
    equeue_t *q;
    /* The load guard (acd_engine_load_guard): off while guard_window is 0. */
    double guard_rate;
    int guard_window, guard_min;
    int nsurge;  /* queues with a surge rule, in the plan's order: */
    int *surgeq; /* (their modes are checked in this order) */
    int ncls, capcls;
    eclass_t *cls;

    int na, capa;
    eagent_t *a;

    /* Calls: the slab, and seq -> slab index by open addressing (linear
     * probing, at most half full, backward-shift deletion): O(1) expected. */
    int nc, capc, free_call, live;
    ecall_t *c;
    int caphash;
    int *hash; /* slab index, -1 empty */

    /* core slot -> slab index, -1 for a slot holding no call of ours. */
    int capslot;
    int *slot_call;

    /* The actions of the running (or last) event. */
    int nact, capact;
    acd_engine_status status; /* set by conclude: nact and the next deadline */
    int sealed; /* set by the first event or by acd_engine_load_finish: no more loading */
    acd_action *act;

    /* Scratch for the core: route_call's answer (capacity capout) and a
     * sync's sessions (capsync). */
    int capout;
    int *out_agent;
    long long *out_weight;
    int capsync;
    long long *sync_seq;
    int *sync_ch;
    /* Scratch of one handler at a time (never nested): the agents a ring
     * timeout, an answer or an abandon releases, the calls a logout puts
     * back, an agent's scan list at login. */
    int captmp;
    int *tmp;
    /* Scratch of the leave-empty exits (complete_logout runs inside
     * handlers that hold tmp): the calls of an emptied queue. */
    int capltmp;
    int *ltmp;

    /* Estimator hooks (acd_engine_set_hooks): on or off, the running
     * step's hooks, each class's cached pool (capstaff entries), and a
     * competing count's scratch (the calls ahead, and a verdict per class
     * marked by vstamp). */
    int hooks;
    int nhook, caphook;
    acd_hook *hk;
    int capstaff;
    estaff_t *staff;
    int caphtmp;
    int *htmp;
    unsigned vstamp;
    int capv;
    unsigned *vmark;
    unsigned char *vval;
    /* Each queue's pool: the agents whose profile lists it, as one array
     * by queue (pool[pool_at[q] .. pool_at[q + 1]]), rebuilt by staff_of
     * when the memberships changed (mq_gen moved past pool_gen); a mark
     * per agent while a count visits several queues' pools. */
    unsigned long long mq_gen, pool_gen;
    int pool_built; /* pool_at and pool hold a whole build */
    int *pool_at, *pool;
    int cappool, capmark;
    unsigned pstamp;
    unsigned *amark;
};

/* ------------------------------------------------- shared, acd_engine.c */

ACD_ENGINE_HIDDEN int eng_grow(void **arr, int *cap, int need, size_t size);
ACD_ENGINE_HIDDEN int call_find(const acd_engine *e, int64_t seq);
ACD_ENGINE_HIDDEN int call_new(acd_engine *e, int64_t seq); /* reserve first */
ACD_ENGINE_HIDDEN int call_reserve(acd_engine *e);
ACD_ENGINE_HIDDEN void call_delete(acd_engine *e, int ci);
ACD_ENGINE_HIDDEN int agent_reserve(acd_engine *e, int agent);
ACD_ENGINE_HIDDEN int timer_live(const acd_engine *e, const acd_deadline *d);
ACD_ENGINE_HIDDEN int *offers_of(ecall_t *c);

/* ------------------------------------------ shared, acd_engine_events.c */

ACD_ENGINE_HIDDEN void publish(acd_engine *e);
/* _offers.release_offers (the agents freed left in e->tmp, their number
 * returned) and _offers.reroute (those agents take their next calls). */
ACD_ENGINE_HIDDEN int release_offers(acd_engine *e, int ci, int reason);
ACD_ENGINE_HIDDEN void reroute(acd_engine *e, int n);
ACD_ENGINE_HIDDEN int push_profile(acd_engine *e, int agent, int order, int region, int nsk,
                                   const int *skill,
                                   const int *level, const int *cap, unsigned excl, int nmem,
                                   const int *mqueue, const double *mprio, const double *mdelay,
                                   const double *mpos, const long long *mweight);

/* -------------------------------------------- shared, acd_engine_flow.c */

ACD_ENGINE_HIDDEN int agent_available(const eagent_t *a, double now);
/* The instant `delay` from now (_deadlines.after). */
ACD_ENGINE_HIDDEN double after(const acd_engine *e, double delay);
ACD_ENGINE_HIDDEN void emit(acd_engine *e, int kind, int reason, int64_t call, int agent,
                            int queue, int64_t n, double x, double y);
ACD_ENGINE_HIDDEN void drop_dead(acd_engine *e);
ACD_ENGINE_HIDDEN int tmp_reserve(acd_engine *e, int need);
ACD_ENGINE_HIDDEN int sess_index(const eagent_t *a, int64_t call);
ACD_ENGINE_HIDDEN void sess_del(eagent_t *a, int64_t call);
ACD_ENGINE_HIDDEN void sync_agent(acd_engine *e, int ai, int avail);
ACD_ENGINE_HIDDEN void refresh(acd_engine *e, int ai);
ACD_ENGINE_HIDDEN void complete_logout(acd_engine *e, int ai);
/* A failure of the running event, recorded (the first one sticks). */
ACD_ENGINE_HIDDEN void fail(acd_engine *e, int rc);
/* Arm a deadline: its scheduling number, or -1 (failed: fail()). */
ACD_ENGINE_HIDDEN int64_t schedule(acd_engine *e, double when, int kind, int64_t ref,
                                   int64_t token);
ACD_ENGINE_HIDDEN void end_wrapups(eagent_t *a);
ACD_ENGINE_HIDDEN void dequeue(acd_engine *e, int ci);
ACD_ENGINE_HIDDEN void enqueue_place(acd_engine *e, int ci, int reason);
ACD_ENGINE_HIDDEN void enqueue(acd_engine *e, int ci, int reason);
ACD_ENGINE_HIDDEN void set_offers(acd_engine *e, ecall_t *c, const int *agents, int n);
ACD_ENGINE_HIDDEN void finish(acd_engine *e, int ci, int64_t *outcome);
ACD_ENGINE_HIDDEN void offers_remove(ecall_t *c, int ai);
ACD_ENGINE_HIDDEN void miss(acd_engine *e, int ai, int queue);
ACD_ENGINE_HIDDEN int withdraw(acd_engine *e, int ai, int ci, int reason);
ACD_ENGINE_HIDDEN void route_agent(acd_engine *e, int ai);
ACD_ENGINE_HIDDEN void enter(acd_engine *e, int ci, int reason);
ACD_ENGINE_HIDDEN void requeue(acd_engine *e, int ci, int reason);
/* An agent's membership list: room for n (changes nothing), then set (the
 * queues' member counts follow while it is logged in). */
ACD_ENGINE_HIDDEN int mq_reserve(acd_engine *e, int ai, int n);
ACD_ENGINE_HIDDEN void set_memberships(acd_engine *e, int ai, int nmem, const int *mqueue);
ACD_ENGINE_HIDDEN void release_agent(acd_engine *e, int ai, int64_t call, double answered_at,
                                     double offered_at);
ACD_ENGINE_HIDDEN void fire(acd_engine *e, const acd_deadline *d);
ACD_ENGINE_HIDDEN void update_surge(acd_engine *e);
ACD_ENGINE_HIDDEN void record_answer(acd_engine *e, int ai, int answered);
ACD_ENGINE_HIDDEN int load_guarded(const acd_engine *e, const eagent_t *a);

/* ------------------------------------------- shared, acd_engine_hooks.c */

/* _agents.staffing: recount the agent in its queues' staffing (and bump
 * the staffing generation). */
ACD_ENGINE_HIDDEN void staffing(acd_engine *e, int ai);
/* The agent's skills, capacity, region or memberships changed: the pools
 * of its queues are to be counted again. */
ACD_ENGINE_HIDDEN void staff_changed(acd_engine *e, int ai);
ACD_ENGINE_HIDDEN void hook_emit(acd_engine *e, int kind, int64_t call, int queue, double x);
ACD_ENGINE_HIDDEN void hook_entered_emit(acd_engine *e, int ci);
ACD_ENGINE_HIDDEN void hook_sample_emit(acd_engine *e);
/* An estimator hook with a call (-1: none), a queue and one number (with
 * hooks off, a test and nothing else, here and below). */
static inline void hook(acd_engine *e, int kind, int64_t call, int queue, double x)
{
    if (e->hooks)
        hook_emit(e, kind, call, queue, x);
}
/* on_entered: the waiting call's context, as _estimates.context computes it. */
static inline void hook_entered(acd_engine *e, int ci)
{
    if (e->hooks)
        hook_entered_emit(e, ci);
}
/* _estimates.sample: each queue whose (waiting, staffed) changed. */
static inline void hook_sample(acd_engine *e)
{
    if (e->hooks)
        hook_sample_emit(e);
}
ACD_ENGINE_HIDDEN void hooks_free(acd_engine *e);
/* _experience.start_announcements and the ANNOUNCE deadline's part
 * (acd_engine_experience.c). entered: the last hook is the call's
 * ACD_H_ENTERED, whose context an announcement reuses. */
ACD_ENGINE_HIDDEN void start_announcements(acd_engine *e, int ci, int entered);
ACD_ENGINE_HIDDEN void fire_announce(acd_engine *e, int ci);
/* _experience.callback_unanswered: the callback's reserved agent freed,
 * then a retry armed or the callback failed. */
ACD_ENGINE_HIDDEN void callback_unanswered(acd_engine *e, int ci);
/* A hook of kind (ACD_H_ANNOUNCE, ACD_H_CALLBACK) with call ci's context
 * (the last hook's when entered), and its placeholder action. */
ACD_ENGINE_HIDDEN void hook_speak(acd_engine *e, int ci, int kind, int entered);

/* ------------------------------------------ shared, acd_engine_stages.c */

ACD_ENGINE_HIDDEN int meets(const acd_engine *e, int cls, int nsk, const int *skill,
                            const int *level);
/* Whether the agent's channels, skills and region let it take a call of
 * class cls (router.skill_eligible, membership aside). */
ACD_ENGINE_HIDDEN int eligible(const acd_engine *e, const eagent_t *a, int cls);
ACD_ENGINE_HIDDEN void enter_stage(acd_engine *e, int ci, int index);
/* A call's stage count (0: none), current stage, and its deadline's number. */
static inline int call_nst(const ecall_t *c) { return c->st ? c->st->n : 0; }
static inline int call_stage(const ecall_t *c) { return c->st && c->st->n ? c->st->cur : 0; }
static inline int64_t call_stage_timer(const ecall_t *c)
{
    return c->st && c->st->n ? c->st->timer : -1;
}
/* Its queue's max-wait deadline number (-1: none) and move table. */
static inline int64_t call_mw_timer(const ecall_t *c) { return c->st ? c->st->mw_timer : -1; }
static inline void call_mw_clear(ecall_t *c)
{
    if (c->st)
        c->st->mw_timer = -1;
}
static inline emoves_t *call_moves(const ecall_t *c) { return c->st ? c->st->mv : NULL; }
/* Its pending announcement's deadline number (-1: none), and whether it
 * has heard one. */
static inline int64_t call_ann_timer(const ecall_t *c) { return c->st ? c->st->ann_timer : -1; }
static inline int call_heard(const ecall_t *c) { return c->st ? c->st->heard : 0; }
static inline int call_attempts(const ecall_t *c) { return c->st ? c->st->attempts : 0; }
static inline void call_ann_clear(ecall_t *c)
{
    if (c->st)
        c->st->ann_timer = -1;
}
/* Back to one plain stage: the table's deadline, if any, dies. */
static inline void stages_clear(ecall_t *c)
{
    if (c->st) {
        c->st->n = 0;
        c->st->cur = 0;
        c->st->timer = -1;
    }
}
/* Give call ci a plan table (empty) if it has none: ACD_OK or ACD_ENOMEM. */
ACD_ENGINE_HIDDEN int plan_table(acd_engine *e, int ci);
ACD_ENGINE_HIDDEN int stages_valid(const acd_engine *e, int channel, int nst, const int *cls,
                                   const double *expires);
ACD_ENGINE_HIDDEN int stages_set(acd_engine *e, int ci, int nst, const int *cls,
                                 const double *expires, const unsigned char *skip);

#endif
