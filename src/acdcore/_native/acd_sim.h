/* acdcore native backend: the simulator's replication loop, in C, for the
 * scenarios it covers.
 *
 * acdcore.sim plays a replication as a loop over a heap of the driver's own
 * events (arrivals, answers, call ends, hang-ups) and the distributor's
 * deadlines (acdcore/_sim_run.py). For a scenario whose every step the C
 * engine takes and whose every draw is one of the built-in distributions
 * (acdcore/_sim_native.py says which), this module runs that same loop over
 * the same engine: the same steps in the same order, the same draws from
 * the same Mersenne Twister stream (loaded from the replication's
 * random.Random and saved back into it; the engine's random strategies draw
 * from it too), the same driver rules. It is not a second simulator: it is
 * the loop of _sim_run.py and _sim_direct.py written in C, and
 * tests/test_sim_native.py requires the two to give equal replications.
 *
 * The KPIs are kept here too, as Metrics' field handlers keep them (the
 * direct lane hands Metrics the same facts in the same order), and
 * acdcore/_sim_native.py loads them into the replication's Metrics after
 * the loop, so that it ends as the Python loop leaves it.
 *
 * Every function validates its arguments and returns a negative ACD_E* code
 * (acd_native.h) or ACD_SIM_E* below rather than aborting.
 *
 * Complexity: a step costs the engine's handler plus O(log h) for the h
 * driver events pending, O(1) per action record and Metrics' own costs
 * (O(s) for an agent's s sessions, O(log w) per wrap-up); memory is
 * O(calls of the replication) (one small record each, and the waits) plus
 * O(buckets x (queues + agents)) pointers to the accumulators.
 */
#ifndef ACD_SIM_H
#define ACD_SIM_H

#include <stdint.h>

#include "acd_engine.h"

#define ACD_SIM_ABI 1

/* A record kind the covered scenarios never produce (a bug in the check
 * that chose this loop); the replication is lost. */
#define ACD_SIM_EUNCOVERED -40
/* The driver found its state inconsistent (a bug). */
#define ACD_SIM_EDRIVER -41
/* A log-normal draw overflowed a double (random.lognormvariate raises
 * OverflowError there: so does the Python side). */
#define ACD_SIM_EOVERFLOW -42

/* The built-in distributions (acdcore.distributions), drawn as their
 * sample() methods draw. */
#define ACD_SD_DETERMINISTIC 1 /* a = value */
#define ACD_SD_EXPONENTIAL 2   /* a = rate (1 / mean) */
#define ACD_SD_LOGNORMAL 3     /* a = mu, b = sigma (of the logarithm) */
#define ACD_SD_UNIFORM 4       /* a = low, b = high */
#define ACD_SD_EMPIRICAL 5     /* values, n of them */

/* Sort-key elements of a call type (a policy's key, with these in place of
 * the arrival instant and the sequence number). */
#define ACD_SK_CONST 0
#define ACD_SK_ARRIVED 1
#define ACD_SK_SEQ 2

/* Metrics' _CallAcc counters the loop moves, in this order (acd_kpi_acc.n). */
#define ACD_KPI_OFFERED 0
#define ACD_KPI_ANSWERED 1
#define ACD_KPI_ANSWERED_WITHIN 2
#define ACD_KPI_ABANDONED 3
#define ACD_KPI_ABANDONED_WITHIN 4
#define ACD_KPI_SHORT_ABANDONED 5
#define ACD_KPI_REJECTED 6
#define ACD_KPI_HANDLED 7
#define ACD_KPI_OFFERS 8
#define ACD_KPI_RONA 9
#define ACD_KPI_COUNTS 10
/* Metrics' agent-time categories (_AgentAcc's time fields), in this order;
 * -1: none (logged out). */
#define ACD_KPI_BUSY 0
#define ACD_KPI_WRAP 1
#define ACD_KPI_RINGING 2
#define ACD_KPI_PAUSED 3
#define ACD_KPI_AVAILABLE 4
#define ACD_KPI_TIMES 5

/* An accumulator made: its bucket and queue (or agent) index. */
typedef struct acd_kpi_touch {
    int64_t bucket;
    int32_t who;
    int32_t pad;
} acd_kpi_touch;

/* A pending wrap-up in Metrics' heap: (until, seq, agent, call number). */
typedef struct acd_kpi_wrap {
    double until;
    int64_t seq;
    int32_t agent;
    int32_t pad;
    int64_t call; /* the call's Metrics number */
} acd_kpi_wrap;

/* An accumulator (a _CallAcc, and an _AgentAcc's times) read out. */
typedef struct acd_kpi_acc {
    int64_t n[10];
    double talk, wrap;
    double time[5];
    int64_t auto_pauses;
    const double *answered_waits, *abandoned_waits;
    int64_t n_answered_waits, n_abandoned_waits;
} acd_kpi_acc;

/* An agent's session read out (Metrics' _Session). */
typedef struct acd_kpi_session {
    int64_t seq, bucket;
    int32_t call; /* the driver's call number: its id is "c<number>" */
    int32_t state; /* 0 ringing, 1 connected, 2 wrap */
    int32_t queue, leg;
    double talk, ended, until;
} acd_kpi_session;

/* A call still in the centre when the loop stopped, and Metrics' record
 * of it (m_live: Metrics keeps one). */
typedef struct acd_sim_call {
    double arrived;
    int64_t seq; /* the engine's sequence number */
    int32_t call;
    int32_t type;
    int32_t queue;
    int32_t state; /* 0 waiting, 1 ringing, 2 connected */
    int64_t m_seq, m_bucket;
    int32_t m_live, m_state, m_current, m_answered, m_agent, pad;
    double answered_at;
} acd_sim_call;

typedef struct acd_sim acd_sim;

int acd_sim_abi_version(void);
/* A replication over engine e (which it drives, and must outlive it):
 * nqueues queues, agent indices below nagents, ntypes call types, nint
 * measured intervals of `interval` seconds from origin; arrivals from begin
 * (the warm-up) until the measured period ends, the run stopping at
 * hard_stop at the latest. */
acd_sim *acd_sim_new(acd_engine *e, int nqueues, int nagents, int ntypes, int nint, double begin,
                     double origin, double interval, double measured_end, double hard_stop);
void acd_sim_free(acd_sim *s);
/* A distribution (ACD_SD_*); returns its id (>= 0). Empirical values are
 * copied. */
int acd_sim_dist(acd_sim *s, int kind, double a, double b, const double *values, int n);
/* Queue q's talk-time and patience distributions (ids; -1: none). */
int acd_sim_queue(acd_sim *s, int q, int handle, int patience);
/* Agent `agent` (the simulator's number, 0 .. nagents - 1): the chance it
 * lets an offer ring out, its answer delay's distribution and how long it
 * stays paused after the distributor paused it (its no-answer policy). */
int acd_sim_agent(acd_sim *s, int agent, double rona, int answer, int resume);
/* Its profile, as acd_engine_login takes it (copied). */
int acd_sim_profile(acd_sim *s, int agent, int region, int nsk, const int *skill,
                    const int *level, const int *cap, unsigned excl, int nmem, const int *mqueue,
                    const double *mprio, const double *mdelay, const double *mpos,
                    const long long *mweight);
/* A shift's event, in the order the simulator scheduled them: kind 5 a
 * login, 6 a logout, 7 a break (reason: its number; duration seconds). */
int acd_sim_event(acd_sim *s, double t, int kind, int agent, int reason, double duration);
/* Call type t: its cumulative weight (the last type's is read as 1), queue,
 * engine call class, own talk-time and patience distributions (-1: the
 * queue's), and sort key template (nkey elements, ACD_SK_*). */
int acd_sim_type(acd_sim *s, int t, double cum, int queue, int cls, int handle, int patience,
                 int nkey, const int *key_kind, const double *key_const);
/* Poisson arrivals: warm_rate per second during the warm-up, then rates[k]
 * per second in measured interval k (nint of them). */
int acd_sim_arrivals(acd_sim *s, double warm_rate, const double *rates);
/* Run the loop, drawing from the random.Random state (words, index);
 * nv_magic is random.NV_MAGICCONST; first_call the driver's call count so
 * far. 0, or a negative code (the replication is then lost). */
int acd_sim_run(acd_sim *s, const uint32_t *words, int index, double nv_magic, int64_t first_call);

/* ----------------------------------------------------- after the run */
int acd_sim_rng(const acd_sim *s, uint32_t *words, int *index);
/* The answered (abandoned = 0) or abandoned waits of measured calls of queue q. */
const double *acd_sim_waits(const acd_sim *s, int q, int abandoned, int64_t *n);
/* Per measured interval: calls that entered a queue (delayed = 0) or had
 * to wait (1), of queue q or of all (q = -1); nint numbers. */
const int64_t *acd_sim_entered(const acd_sim *s, int q, int delayed);
/* A call that ended or hung up, and when. */
typedef struct acd_sim_end {
    double t;
    int64_t call;
} acd_sim_end;
/* The calls that ended or hung up, in the order they did. */
const acd_sim_end *acd_sim_ends(const acd_sim *s, int64_t *n);
/* The pause reason the façade keeps for the agent of engine index
 * `agent`, into *why: the queue whose no-answer policy paused it last
 * (>= 0), -2 - the number of its break's reason, or -1 (none: resumed or
 * logged in since; a logout keeps the reason, as the façade does). */
int acd_sim_paused(const acd_sim *s, int agent, int *why);
/* The simulator's numbers of the agents given an engine index, in index
 * order (the order of their first logins): how many (at most max into out). */
int acd_sim_named(const acd_sim *s, int *out, int max);
/* out[0..2]: the driver's call count, events, advances. */
int acd_sim_counts(const acd_sim *s, int64_t *out);
/* The calls still in the centre or in Metrics, in arrival order: how many
 * (at most max into out; NULL out: just count). */
int acd_sim_live(const acd_sim *s, acd_sim_call *out, int max);

/* --------------------------------------------------------- the KPIs
 * Metrics' state, kept by the loop as Metrics' field handlers keep it
 * (acdcore/_metrics_handlers.py, _metrics_core.py): set up before the run
 * from Metrics' configuration and its agents' records, read out after it. */
/* interval, tz_offset, short_abandon; per queue the SL threshold and
 * wrap-up; the buckets b0..b1 the run can touch. */
int acd_sim_kpi(acd_sim *s, double interval, double tz, double short_abandon,
                const double *threshold, const double *wrap, int64_t b0, int64_t b1);
/* The accumulators made, in order (agents = 0: per queue; 1: per agent). */
const acd_kpi_touch *acd_sim_kpi_touches(const acd_sim *s, int agents, int64_t *n);
int acd_sim_kpi_acc(const acd_sim *s, int agents, int64_t bucket, int who, acd_kpi_acc *out);
/* The record of the agent of engine index `agent`: *nss sessions into ss
 * (up to max). */
int acd_sim_kpi_agent_of(const acd_sim *s, int agent, int *logged_in, int *paused,
                         int *pending_logout, int *category, double *since,
                         acd_kpi_session *ss, int max, int *nss);
const acd_kpi_wrap *acd_sim_kpi_wraps(const acd_sim *s, int64_t *n);
/* out: wrap_seq, call_seq, ignored; *now: Metrics' clock. */
int acd_sim_kpi_scalars(const acd_sim *s, int64_t *out, double *now);

#endif
