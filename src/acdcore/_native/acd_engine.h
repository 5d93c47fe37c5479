/* acdcore native backend: the engine, a call's and an agent's whole life in C.
 *
 * The engine owns the dynamic state of a distributor (calls, agents, offers,
 * sessions, wrap-up, no-answer delays, the deadline heap, the random draws)
 * and runs every handler of the events it covers, deciding exactly what the
 * Python handlers decide (src/acdcore/_calls.py, _offers.py, _agents.py,
 * _queueing.py, _routing.py, _deadlines.py are its specification, read for
 * any distributor (estimators are told through the hooks below;
 * announcements and callback offers are timed here and worded by the
 * façade; callbacks are run here), with no routing plan or one whose rules choose the queue, the call's facts, its
 * relaxation steps and preferred agent, or send it away at arrival, and
 * whose queues have business hours, maximum waits, join-empty and
 * leave-empty exits and surge modes, and a load guard; regional and
 * skip-if-empty steps too: distributor._plan_covered).
 * The matching decisions are the dispatch core's (acd_native.h), which the
 * engine owns and feeds through that header's functions.
 *
 * Identity is the distributor's own: a call is its arrival sequence number
 * (the engine counts arrivals, rejected ones included), an agent its index
 * (the façade numbers agents on first login, from 0, and keeps the number),
 * a queue its index in the configuration. Strings, policies' sort keys,
 * attributes and wording stay in the façade, which hands the engine numbers.
 *
 * One call per event or advance. Each returns ACD_OK (or, for an arrival,
 * the call's sequence number, >= 0) and appends the actions it causes to the
 * engine's action buffer, which the caller reads with acd_engine_actions and
 * which the next event or advance clears; or a negative code, with the state
 * and the buffer unchanged:
 *   ACD_EINDEX  an agent or queue index out of range;
 *   ACD_EUNKNOWN_CALL  no live call has that sequence number;
 *   ACD_EUNKNOWN_AGENT the agent never logged in;
 *   ACD_ECALL_STATE    the call is not in a state for this event;
 *   ACD_EAGENT_STATE   the agent is not in a state for this event;
 *   ACD_ENO_OFFER      no offer of that call to that agent is ringing;
 *   ACD_EDUE           a deadline is due at or before the event's instant
 *                      (advance first);
 *   ACD_EBACKWARDS     the instant is before the engine's clock;
 *   ACD_EARG, ACD_ENOMEM as in acd_native.h.
 * The façade checks types and strings; the engine checks states, so a
 * refused event is refused by one rule on both sides.
 *
 * Deadlines fire in the order (instant, scheduling number), numbered by one
 * counter in the order they are armed, exactly as the Python handlers arm
 * them (dead ones included), so that snapshots agree on the numbers.
 */
#ifndef ACD_ENGINE_H
#define ACD_ENGINE_H

#include <stdint.h>

#include "acd_heap.h"

#define ACD_ENGINE_ABI 13

#define ACD_EUNKNOWN_CALL -10
#define ACD_EUNKNOWN_AGENT -11
#define ACD_ECALL_STATE -12
#define ACD_EAGENT_STATE -13
#define ACD_ENO_OFFER -14
#define ACD_EDUE -15
#define ACD_EBACKWARDS -16

/* Action kinds: each maps to one public action class of acdcore.actions. */
#define ACD_A_OFFER 1  /* Offer: call, agent, queue, x = waited, y = ring timeout */
#define ACD_A_QUEUED 2 /* Queued: call, queue, n = position (1-based), reason */
#define ACD_A_CANCEL 3 /* CancelOffer: call, agent, reason */
#define ACD_A_REJECT 4 /* Reject: call, queue, reason (ACD_R_QUEUE_FULL) */
#define ACD_A_PAUSE 5  /* PauseAgent: agent, queue = whose no-answer policy paused it */
/* A waiting (or requeued) call leaves its queue by the queue's exit
 * (acd_engine_queue_exits), reason ACD_R_MAX_WAIT or ACD_R_LEAVE_EMPTY:
 * MOVE, an Overflow to another queue (call, queue = the one it left, n =
 * the new one; its Queued "overflow" there and any offer follow), or EXIT,
 * it ends (call, queue, n = its outcome, ACD_O_*). */
#define ACD_A_MOVE 6
#define ACD_A_EXIT 7
/* SurgeMode: queue, n = calls waiting, x = 1.0 entering surge mode, 0.0
 * leaving it (acd_engine_queue_surge). */
#define ACD_A_SURGE 8
/* Where the façade words what a waiting call hears (an Announce, an
 * OfferCallback, both or neither: they follow the estimates): call, queue,
 * n = the index of its ACD_H_ANNOUNCE or ACD_H_CALLBACK hook in this
 * step's hooks. */
#define ACD_A_SPEAK 9
/* PlaceCallback: a callback's turn came: call, agent (reserved), queue,
 * n = the attempt (1 for the first), y = the dial timeout. */
#define ACD_A_PLACE 10
/* CallbackFailed: call, queue, n = attempts made; the call ends. */
#define ACD_A_CALLBACK_FAILED 11

/* Reasons (Queued's and CancelOffer's reason strings). */
#define ACD_R_ARRIVED 1          /* "arrived" */
#define ACD_R_RING_TIMEOUT 2     /* "ring-timeout" */
#define ACD_R_DECLINED 3         /* "declined" */
#define ACD_R_ANSWERED_ELSEWHERE 4 /* "answered-elsewhere" */
#define ACD_R_AGENT_LOGGED_OUT 5 /* "agent-logged-out" */
#define ACD_R_CALLER_ABANDONED 6 /* "caller-abandoned" */
#define ACD_R_QUEUE_FULL 7       /* "queue-full" */
#define ACD_R_TRANSFERRED 8      /* "transferred" */
#define ACD_R_SKILLS_CHANGED 9   /* "skills-changed" */
#define ACD_R_OVERFLOW 10        /* "overflow": Queued after a move */
#define ACD_R_MAX_WAIT 11        /* "max-wait" */
#define ACD_R_LEAVE_EMPTY 12     /* "leave-empty" */
#define ACD_R_CALLBACK_UNANSWERED 13 /* "callback-unanswered" */
#define ACD_R_CALLBACK_CANCELLED 14  /* "callback-cancelled" */
#define ACD_R_CALLBACK_RETRY 15      /* "callback-retry": Queued for the next attempt */

/* Call states (acd_engine_call). */
#define ACD_C_WAITING 1
#define ACD_C_RINGING 2
#define ACD_C_CONNECTED 3
#define ACD_C_PENDING 4 /* a callback between an unanswered attempt and the next */

/* One action: 56 bytes. Fields a kind does not use are 0 (agent, queue: -1). */
typedef struct acd_action {
    int kind;
    int reason;
    int64_t call;  /* sequence number, -1 when none */
    int agent;     /* index, -1 when none */
    int queue;     /* index, -1 when none */
    int64_t n;     /* Queued: position */
    double x, y;   /* Offer: waited, ring timeout */
    double at;     /* the instant it was decided (the event's, or the deadline's) */
} acd_action;

typedef struct acd_engine acd_engine;

/* What a caller asks after every event or advance, kept up to date by the
 * engine in memory the caller may read in place (acd_engine_status): how
 * many actions the last event or advance left in the buffer, the next
 * deadline (has_due 0 when there is none) and the buffer's capacity (see
 * acd_engine_actions). A refused call leaves it as it
 * was, as it leaves everything. Reading it is a load, not a call: the
 * façade asks it before every event and after every advance. */
typedef struct acd_engine_status {
    int nact;
    int has_due;
    double due;
    int acap; /* the action buffer's capacity: the buffer moves only when this changes */
    int nhook; /* estimator hooks the last event or advance left (acd_engine_hooks) */
} acd_engine_status;

int acd_engine_abi_version(void);

/* A new engine over nqueues queues, its clock at start, its generator
 * loaded from random.Random.getstate() (624 words and the index). NULL when
 * out of memory or an argument is malformed. */
acd_engine *acd_engine_new(int nqueues, double start, const uint32_t *rng_words, int rng_index);
void acd_engine_free(acd_engine *e);

/* Where the random strategies' draws come from. By default the engine's own
 * Mersenne Twister, loaded at acd_engine_new (acd_rng.h). With a draw
 * function set, every draw is made by calling it instead: the façade passes
 * one that draws from the injected random.Random itself, so that the
 * engine's draws interleave with anyone else's on that generator exactly as
 * the Python handlers' do. draw(ctx, n, &out) stores a number in [0, n)
 * (random.Random.randrange(n)) and returns 0, or returns nonzero when it
 * cannot (the event then fails as out of memory does). NULL: back to the
 * engine's own generator. */
typedef int (*acd_draw_fn)(void *ctx, uint64_t n, uint64_t *out);
int acd_engine_set_draw(acd_engine *e, acd_draw_fn draw, void *ctx);

/* A queue's configuration (before any event): strategy as in acd_native.c's
 * order (STRATEGIES in core.py), seconds as in QueueConfig, max_length -1
 * for none, auto_pause_after -1 for none. */
int acd_engine_queue(acd_engine *e, int queue, int strategy, double ring_timeout,
                     double wrap_up, int max_length, double preferred_wait,
                     double no_answer_delay, int auto_pause_after);

/* A call class for arrivals: the requirement (skill ids and minimum levels)
 * and channel; returns the class id (>= 0), the same id for the same class. */
int acd_engine_class(acd_engine *e, int nreq, const int *skill, const int *minimum, int channel);
/* The same, with the queues a routing plan's step added (their agents may
 * take the call too; the call's own queue not among them, each once). */
int acd_engine_class_ex(acd_engine *e, int nreq, const int *skill, const int *minimum,
                        int channel, int nextra, const int *extra);
/* The same, for a regional stage: only agents of region (an id the façade
 * interns, 0 for none; -1: any region, as acd_engine_class_ex) may take it. */
int acd_engine_class_rx(acd_engine *e, int nreq, const int *skill, const int *minimum,
                        int channel, int region, int nextra, const int *extra);
/* A routing plan's borrowing (before any event): the n queues whose rules'
 * steps add queue, in the order the distributor found them. An agent of
 * queue scans them for work after its own queues (_routing.scan_list). */
int acd_engine_borrowers(acd_engine *e, int queue, int n, const int *borrowers);
/* A routing plan's exits of a queue that read the live state (QueueRules),
 * before any event. max_wait > 0 (NAN: none): a call that has waited that
 * long since it entered the queue (ringing or not; armed once per queue
 * entered) leaves by on_max_wait when it waits, or when its offer ends.
 * leave_empty (ACD_X_NONE: none): when the queue's last logged-in member
 * logs out, its waiting calls leave by it (and so does a call whose offer
 * ends while the queue has no member). An exit is ACD_O_REJECTED,
 * ACD_O_OVERFLOWED (to a destination), ACD_O_SELF_SERVICE, or ACD_X_QUEUE
 * with a target queue: the call moves there with the class and key the
 * façade gave it for that queue (acd_engine_call_moves). */
#define ACD_X_NONE -1
#define ACD_X_QUEUE 3
int acd_engine_queue_exits(acd_engine *e, int queue, double max_wait, int on_max_wait,
                           int max_wait_target, int leave_empty, int leave_empty_target);
/* A routing plan's surge mode of a queue (Surge), before any event, in the
 * plan's order of queues: the queue enters it when enter_waiting calls or
 * more wait, and leaves it when leave_waiting or fewer do (leave_waiting <
 * enter_waiting), checked in that order after every event and after every
 * deadline fired (_queueing.update_surge), each change an ACD_A_SURGE
 * action. The façade reads the mode (acd_engine_surge) to decide a surge
 * exit at arrival. */
int acd_engine_queue_surge(acd_engine *e, int queue, int enter_waiting, int leave_waiting);
/* A queue's caller experience (QueueConfig.announce and .callback), before
 * any event; announcements and callback offers act only with hooks on (a
 * distributor with estimators).
 * announce 1: a call that must wait hears an announcement `first` seconds
 * after it enters the queue (at once when first is 0, or when it has heard
 * one before), then every `every` seconds while it waits (the deadline
 * keeps its rhythm while the call rings: _experience.start_announcements,
 * _deadlines.fire). callback 1: the queue offers callbacks; with no
 * announcements, a call that must wait is weighed for an offer when it
 * enters the queue and when it is put back. Each of these moments is an
 * ACD_H_ANNOUNCE or ACD_H_CALLBACK hook and an ACD_A_SPEAK action. A
 * caller of a callback queue may ask for a callback (acd_engine_callback_*):
 * dialled with one agent reserved for dial_timeout seconds when its turn
 * comes, retried retry_delay seconds later at its place up to retries
 * more times (CallbackPolicy; a queue with no callback policy gives its
 * default's numbers here: a callback an exit moves into it uses them). */
int acd_engine_queue_experience(acd_engine *e, int queue, int announce, double first,
                                double every, int callback, double dial_timeout, int retries,
                                double retry_delay);
/* Whether queue is in surge mode (1, 0), or ACD_EINDEX. */
int acd_engine_surge(const acd_engine *e, int queue);
/* A routing plan's load guard (LoadGuard), before any event: each agent
 * keeps the outcomes of its last `window` offers (answered or missed);
 * once it has min_offers of them and answered fewer than min_answer_rate
 * of them, it is passed over when another free agent can take the call. */
int acd_engine_load_guard(acd_engine *e, double min_answer_rate, int window, int min_offers);
/* An agent's kept offer outcomes, oldest first (1 answered, 0 missed):
 * writes at most max, returns how many there are. */
int acd_engine_export_answers(const acd_engine *e, int agent, unsigned char *out, int max);

/* ------------------------------------------------------------------ events */

/* AgentLoggedIn. The profile, as acd_agent_profile takes it (skills,
 * capacity per channel, exclusive channels, memberships with priority,
 * delay, position and weight, in the profile's order; region -1). order is
 * the agent's rank of first login (AgentRecord.order: round-robin and the
 * random draws read it), which differs from its index when the agent was
 * named as a preferred agent before it first logged in. */
int acd_engine_login(acd_engine *e, double now, int agent, int order, int region, int nsk,
                     const int *skill,
                     const int *level, const int *cap, unsigned excl, int nmem,
                     const int *mqueue, const double *mprio, const double *mdelay,
                     const double *mpos, const long long *mweight);
int acd_engine_logout(acd_engine *e, double now, int agent);
int acd_engine_pause(acd_engine *e, double now, int agent);
int acd_engine_resume(acd_engine *e, double now, int agent);

/* CallArrived: returns the call's sequence number (a queue-full arrival is
 * rejected: the number is used, the call is not live). key is the policy's
 * sort key padded to ACD_KEYLEN (the façade computed it for the number
 * acd_engine_next_seq gave); preferred is an agent index or -1 (an agent who
 * never logged in must have been given an index by the façade all the same,
 * acd_engine_name_agent). */
int64_t acd_engine_arrive(acd_engine *e, double now, int queue, int cls, const double *key,
                          int preferred);
/* CallArrived for a call with a relaxation table (a routing plan rule's
 * steps, resolved by the façade: _calls.start_stages): nst >= 1 stages,
 * each a class (one channel for all) and the instant it expires (ignored
 * for the last stage, which never does; finite for the others). The call
 * enters stage 0 (skipping stages already expired) before it is queued;
 * each expiry is a deadline that moves it to the next stage and routes it
 * again if it waits. A transfer gives it one plain stage again. */
int64_t acd_engine_arrive_staged(acd_engine *e, double now, int queue, const double *key,
                                 int preferred, int nst, const int *cls, const double *expires);
/* The general arrival a routing plan's rule makes: as acd_engine_arrive
 * (nst 0: cls[0] is the call's one class) or acd_engine_arrive_staged
 * (nst >= 1), with the preferred agent's reservation lasting
 * preferred_wait seconds from arrival (a rule's PreferredAgent.wait, 0 for
 * a busy agent with fallback) instead of the queue's. skip (NULL: none)
 * marks the stages a step made skip_if_empty: entering one when no
 * logged-in agent of the call's pool could take the call (free or not)
 * moves on to the next at once (_calls.enter_stage). */
int64_t acd_engine_arrive_planned(acd_engine *e, double now, int queue, const double *key,
                                  int preferred, double preferred_wait, int nst, const int *cls,
                                  const double *expires, const unsigned char *skip);
/* Not an event, a read: the stage a call of queue arriving at now with
 * this relaxation table (as acd_engine_arrive_planned's, nst >= 1) would
 * enter, by enter_stage's rule (expired stages and empty skip_if_empty
 * ones passed over), in the engine's state as it is. The façade asks it to
 * decide, before the arrival, whether a rule's preferred agent is free for
 * the call as the stage it enters asks. O(nst), plus O(agents x their
 * queues) for each skip_if_empty stage looked at; ACD_EARG or ACD_EINDEX
 * for a bad table. */
int acd_engine_entry_stage(const acd_engine *e, double now, int queue, int nst, const int *cls,
                           const double *expires, const unsigned char *skip);
/* An arrival that a routing plan's exit sends away before it joins any
 * queue (a rule's exit, or a queue's closed hours): it takes the next
 * sequence number, which is returned, and is counted under its outcome;
 * it makes no action (the façade tells the adapter where it went). */
#define ACD_O_REJECTED 0
#define ACD_O_OVERFLOWED 1
#define ACD_O_SELF_SERVICE 2
int64_t acd_engine_exit(acd_engine *e, double now, int outcome);
/* The class and sort key a live call takes in each queue an exit may move
 * it to (_queueing.move: the queue's requirement, its arrival kept): n
 * queues, their classes (of the call's channel) and n x ACD_KEYLEN key
 * numbers; n 0 for none. Not an event: it changes no decision until a move
 * reads it. The façade gives it after the arrival (and after a transfer,
 * which drops the call's table) of a call that may be moved; a move that
 * finds no entry breaks the engine (ACD_ESTATE). */
int acd_engine_call_moves(acd_engine *e, int64_t call, int n, const int *queue, const int *cls,
                          const double *keys);
int acd_engine_abandon(acd_engine *e, double now, int64_t call);
int acd_engine_answer(acd_engine *e, double now, int64_t call, int agent);
int acd_engine_decline(acd_engine *e, double now, int64_t call, int agent);
int acd_engine_end(acd_engine *e, double now, int64_t call);
/* CallTransferred: a connected call goes to queue (its agent's side ends as
 * at a call end), with the class and sort key the façade computed for it
 * there (its arrival instant kept, or now, as keep_arrival says). */
int acd_engine_transfer(acd_engine *e, double now, int64_t call, int queue, int cls,
                        const double *key, int keep_arrival);
/* AgentSkillsChanged: the agent (ever logged in) takes its new profile
 * (the façade passes the whole profile, with the new skills, as at login).
 * At once, when it is logged in: each offer ringing for it whose call's
 * requirement the new skills do not meet is withdrawn (CancelOffer
 * "skills-changed", not a miss), the calls left ringing nobody go back to
 * their places (Queued "skills-changed"), and the agent looks for work. */
int acd_engine_skills_changed(acd_engine *e, double now, int agent, int region, int nsk,
                              const int *skill,
                              const int *level, const int *cap, unsigned excl, int nmem,
                              const int *mqueue, const double *mprio, const double *mdelay,
                              const double *mpos, const long long *mweight);
/* CallbackRequested (the caller's number is the façade's): a waiting call
 * of a callback queue becomes a callback. It keeps its place; it hears no
 * more announcements and leaves by no maximum wait. */
int acd_engine_callback_requested(acd_engine *e, double now, int64_t call);
/* CallbackUnanswered: the customer of a callback being dialled did not
 * answer (CancelOffer "callback-unanswered" frees the agent, no miss):
 * retried later, or CallbackFailed past the retries. The dial timeout does
 * the same. */
int acd_engine_callback_unanswered(acd_engine *e, double now, int64_t call);
/* CallbackCancelled: the customer withdraws a callback (waiting, being
 * dialled or between attempts); it ends. */
int acd_engine_callback_cancelled(acd_engine *e, double now, int64_t call);
/* Move the clock to now, firing every deadline due at or before it. */
int acd_engine_advance(acd_engine *e, double now);

/* Reserve an agent index for an agent named before its first login (a
 * preferred agent): it exists, logged out, with no profile. */
int acd_engine_name_agent(acd_engine *e, int agent);

/* ------------------------------------------------------------------- reads */

/* The actions of the last event or advance: *n of them. The buffer moves
 * only when its capacity grows (in any step, or a load), and the status
 * block's acap says its capacity: a caller may keep the pointer, and a view
 * of acap records, for as long as acap stays the same, whether or not it
 * read every step (the Python wrapper keeps a view so). */
const acd_action *acd_engine_actions(const acd_engine *e, int *n);
/* The engine's status block (see acd_engine_status), valid until the
 * engine is freed. */
const acd_engine_status *acd_engine_status_of(const acd_engine *e);
/* The next deadline's instant into *when: 1, or 0 when none. Pure. */
int acd_engine_next_deadline(const acd_engine *e, double *when);
double acd_engine_now(const acd_engine *e);
int64_t acd_engine_next_seq(const acd_engine *e);
/* A live call: state (ACD_C_*), queue, agent (connected; -1 else), number
 * of ringing offers; or ACD_EUNKNOWN_CALL. */
int acd_engine_call(const acd_engine *e, int64_t call, int *state, int *queue, int *agent,
                    int *noffers);
/* An agent: 0 logged out, 1 logged in; *paused, *pending_logout, *sessions. */
int acd_engine_agent(const acd_engine *e, int agent, int *paused, int *pending_logout,
                     int *sessions);
/* How many logged-in agents are members of queue (QueueRecord.members),
 * or ACD_EINDEX. */
int acd_engine_members(const acd_engine *e, int queue);
/* How many members of queue are staffed (QueueRecord.staffed: logged in,
 * not paused, not logging out), or ACD_EINDEX. */
int acd_engine_staffed(const acd_engine *e, int queue);

/* ------------------------------------------------------- estimator hooks
 *
 * With hooks on (acd_engine_set_hooks, for a distributor with estimators),
 * every event and advance also leaves, in a buffer of its own, what the
 * Python handlers tell the estimators (WaitEstimator's on_* methods), in
 * the order they tell it, with every number computed where they compute
 * it: the façade replays them to the estimators after the step. Estimators
 * decide nothing the engine decides, so replaying after the step is
 * exact. With hooks off nothing is computed and the buffer stays empty.
 *
 *   ACD_H_SAMPLE     on_sample: queue, n0 waiting, n1 staffed (after an
 *                    event, and after each deadline fired, for each queue
 *                    whose pair changed since it was last told)
 *   ACD_H_ENTERED    on_entered: call, queue, and its WaitContext: n0
 *                    ahead, n1 waiting, n2 servers, n3 agents, n4 shared,
 *                    n5 competing, x head_wait (NAN: none), y waited
 *   ACD_H_STARTED    on_started: call, queue, x waited
 *   ACD_H_ANSWERED   on_answered: call, queue, x waited
 *   ACD_H_ABANDONED  on_abandoned: call, queue, x waited
 *   ACD_H_HANDLED    on_handled: queue (the session's), x seconds held
 *   ACD_H_LEFT       on_left: call, queue
 *   ACD_H_ANNOUNCE   _experience.announce: call, queue, and its context
 *                    as ACD_H_ENTERED's (an ACD_A_SPEAK action names it)
 *   ACD_H_CALLBACK   _experience.offer_callback, from
 *                    start_announcements: the same (a queue with a
 *                    callback policy and no announcements)
 */
#define ACD_H_SAMPLE 1
#define ACD_H_ENTERED 2
#define ACD_H_STARTED 3
#define ACD_H_ANSWERED 4
#define ACD_H_ABANDONED 5
#define ACD_H_HANDLED 6
#define ACD_H_LEFT 7
#define ACD_H_ANNOUNCE 8
#define ACD_H_CALLBACK 9

typedef struct acd_hook {
    int kind;
    int queue;
    int64_t call; /* -1 when none */
    int64_t n[6];
    double x, y;
    double at;
} acd_hook;

/* Hooks on (1) or off (0); ACD_ESTATE once the engine has handled an event. */
int acd_engine_set_hooks(acd_engine *e, int on);
/* The last event's or advance's hooks (status.nhook of them); the buffer
 * moves when it grows: ask again after every step. */
const acd_hook *acd_engine_hooks(const acd_engine *e);
/* A waiting call's estimator context now (_estimates.context, what
 * Distributor.estimate reads), into *out as an ACD_H_ENTERED hook holds it:
 * ACD_OK, ACD_EUNKNOWN_CALL, ACD_ECALL_STATE (not waiting) or ACD_ENOMEM.
 * A read: it changes nothing the engine decides or reports (only the
 * caches of the pools' counts and its scratch); the façade gives the engine
 * its clock first, as for every read. O(calls ahead) and, when
 * the staffing changed since the class's last count, O(agents). */
int acd_engine_context(acd_engine *e, int64_t call, acd_hook *out);
/* A queue's (waiting, staffed) as last told to the estimators
 * (QueueRecord.sampled; -1, -1 before the first), or ACD_EINDEX. */
int acd_engine_sampled(const acd_engine *e, int queue, int *waiting, int *staffed);
/* Live calls and how many calls ended in each way so far. */
int acd_engine_counts(const acd_engine *e, int64_t *live, int64_t *completed,
                      int64_t *abandoned, int64_t *rejected);
/* The generator's state (to hand back to random.Random.setstate). */
int acd_engine_rng_state(const acd_engine *e, uint32_t *words, int *index);
/* ------------------------------------------------------------------ export
 *
 * The whole state, for the façade to rebuild the reference's records from
 * (src/acdcore/_materialize.py): views, snapshot() and check() read them.
 * Pure reads. Each list function writes at most max items and returns how
 * many there are (call again with room for them all when it is larger). */

typedef struct acd_engine_scalars {
    double now;
    int64_t timer_seq; /* the next scheduling number */
    int64_t call_seq;  /* the next arrival's sequence number (= arrivals so far) */
    int64_t completed, abandoned, rejected, live;
    int64_t overflowed, self_service;
    int64_t callback_failed, callback_cancelled;
} acd_engine_scalars;

/* A live call (CallRecord's fields the engine holds). Flags say which of
 * the optional instants hold a value (Python's None otherwise). */
typedef struct acd_call_export {
    int64_t seq;
    int state, queue, agent, noffers;
    int preferred, has_answered, has_recheck;
    int64_t ring_round, recheck_timer;
    double arrived, entered, offered_at, answered_at, preferred_until, recheck_at;
    int nstages, stage;   /* its relaxation table's size (0: none) and stage */
    int64_t stage_timer;  /* the next stage's deadline number, -1 none */
    int64_t max_wait_timer; /* its queue's max-wait deadline number, -1 none */
    int64_t announce_timer; /* its pending announcement's deadline number, -1 none */
    double next_announce;   /* that announcement's instant (while announce_timer >= 0) */
    int heard;              /* it has heard an announcement */
    int callback;           /* it is a callback (its customer is called back) */
    int attempts;           /* callback attempts made */
} acd_call_export;

/* An agent (AgentRecord's fields the engine holds). */
typedef struct acd_agent_export {
    int profiled, order, logged_in, paused, pending_logout, misses;
    int nsess, has_wake, has_last_end;
    int region; /* its profile's region id (0: none) */
    int64_t wake_timer;
    double not_before, idle_since, talk_time, last_call_end, calls_taken, wake_at;
} acd_agent_export;

/* One of an agent's sessions, in the order they were opened; state 1
 * ringing, 2 connected, 3 wrap-up (until: its end, else 0). */
typedef struct acd_session_export {
    int64_t call;
    int channel, queue, state;
    double until;
} acd_session_export;

int acd_engine_scalars_get(const acd_engine *e, acd_engine_scalars *out);
/* Live calls in arrival order. */
int acd_engine_export_calls(const acd_engine *e, acd_call_export *out, int max);
/* One live call (ACD_EUNKNOWN_CALL if none), and a waiting call's
 * 1-based position in its queue (0 when it is not waiting): O(log n). */
int acd_engine_export_call(const acd_engine *e, int64_t call, acd_call_export *out);
int acd_engine_call_position(const acd_engine *e, int64_t call);
/* A live call's ringing offers (agent indices), in offer order. */
int acd_engine_call_offers(const acd_engine *e, int64_t call, int *agents, int max);
/* Agents known to the engine: na (logged in once, or named). */
int acd_engine_nagents(const acd_engine *e);
int acd_engine_export_agent(const acd_engine *e, int agent, acd_agent_export *out);
int acd_engine_export_sessions(const acd_engine *e, int agent, acd_session_export *out, int max);
/* A queue's round-robin memory (-1: none) into *rr_last; its free agents
 * (the core's free list, in no particular order) into agents. */
int acd_engine_queue_free(const acd_engine *e, int queue, int *rr_last, int *agents, int max);
/* The live deadlines (dead ones are left out), in no particular order. */
int acd_engine_export_deadlines(const acd_engine *e, acd_deadline *out, int max);

/* ------------------------------------------------------------------ load
 *
 * A saved state (snapshots.restore) loaded into a fresh engine: the inverse
 * of the export, with the same structures. In this order: each agent ever
 * logged in (acd_engine_load_agent: its profile as at login, its state),
 * then its sessions in the order they were opened (acd_engine_load_session:
 * a wrap-up's deadline number with it); agents named before any login with
 * acd_engine_name_agent; each live call in arrival order
 * (acd_engine_load_call: its class and key as at arrival, its ringing
 * offers); each queue's round-robin memory (acd_engine_load_queue); each
 * live deadline in increasing scheduling number (acd_engine_load_deadline);
 * then acd_engine_load_finish with the scalars. finish feeds the core (the
 * agents' states, the waiting calls), empties the action buffer, runs
 * acd_engine_check and opens the engine to events. Loading is refused
 * (ACD_ESTATE) once the engine has handled an event or finished a load; a
 * failed load leaves an engine to be discarded, never used. */
int acd_engine_load_agent(acd_engine *e, int agent, const acd_agent_export *x, int nsk,
                          const int *skill, const int *level, const int *cap, unsigned excl,
                          int nmem, const int *mqueue, const double *mprio, const double *mdelay,
                          const double *mpos, const long long *mweight);
int acd_engine_load_session(acd_engine *e, int agent, const acd_session_export *s,
                            int64_t wrap_tseq);
int acd_engine_load_call(acd_engine *e, const acd_call_export *x, int cls, const double *key,
                         const int *offers);
/* A loaded call's relaxation table (after acd_engine_load_call, when the
 * export said nstages > 0): the stages as at arrival, the current stage
 * (whose class must be the one the call was loaded with) and its
 * deadline's number (-1: none). */
int acd_engine_load_stages(acd_engine *e, int64_t call, int nst, const int *cls,
                           const double *expires, const unsigned char *skip, int stage,
                           int64_t stage_timer);
int acd_engine_load_queue(acd_engine *e, int queue, int rr_last);
/* A loaded agent's kept offer outcomes (after acd_engine_load_agent; at
 * most the guard's window). */
int acd_engine_load_answers(acd_engine *e, int agent, int n, const unsigned char *answers);
/* A loaded queue's surge mode (0 or 1; the queue must have a surge rule to be in it). */
int acd_engine_load_surge(acd_engine *e, int queue, int active);
/* A loaded queue's (waiting, staffed) as last told to the estimators (each
 * -1 or more). */
int acd_engine_load_sampled(acd_engine *e, int queue, int waiting, int staffed);
int acd_engine_load_deadline(acd_engine *e, const acd_deadline *d);
int acd_engine_load_finish(acd_engine *e, const acd_engine_scalars *s);

/* 0 when every internal invariant holds (the core's free lists agree with
 * the agents' states, every waiting call is in the core, offers and sessions
 * mirror each other, the heap is a heap), else a negative code naming the
 * first broken one (for tests). */
int acd_engine_check(const acd_engine *e);

#endif
