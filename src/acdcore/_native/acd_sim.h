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
 * The KPIs stay Python's: every step leaves compact records in a log, in
 * the order the Python loop hands the same facts to Metrics' field
 * handlers, and acdcore/_sim_native.py feeds them to those handlers after
 * the loop (Metrics depends on nothing but what it is fed, in order).
 *
 * Every function validates its arguments and returns a negative ACD_E* code
 * (acd_native.h) or ACD_SIM_E* below rather than aborting.
 *
 * Complexity: a step costs the engine's handler plus O(log h) for the h
 * driver events pending and O(1) per action record; memory is O(calls of
 * the replication) (one small record each, and the log).
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

/* The log's record kinds: what the Python loop hands Metrics. */
#define ACD_SL_ARRIVED 1  /* call, queue */
#define ACD_SL_QUEUED 2   /* call, queue */
#define ACD_SL_OFFER 3    /* call, agent, queue (the leg's) */
#define ACD_SL_CANCEL 4   /* call, agent, reason (ACD_R_*) */
#define ACD_SL_REJECT 5   /* call */
#define ACD_SL_ANSWERED 6 /* call, agent */
#define ACD_SL_ENDED 7    /* call */
#define ACD_SL_ABANDONED 8 /* call */
#define ACD_SL_PAUSE 9    /* agent, queue (whose no-answer policy paused it) */
#define ACD_SL_RESUMED 10 /* agent */

typedef struct acd_sim_log {
    double t;
    int32_t op;
    int32_t call; /* the driver's call number (its id is "c<number>") */
    int32_t agent;
    int32_t queue;
    int32_t reason;
    int32_t pad;
} acd_sim_log;

/* A call still in the centre when the loop stopped. */
typedef struct acd_sim_call {
    double arrived;
    int64_t seq; /* the engine's sequence number */
    int32_t call;
    int32_t type;
    int32_t queue;
    int32_t state; /* 0 waiting, 1 ringing, 2 connected */
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
/* Agent index `agent`: the chance it lets an offer ring out, its answer
 * delay's distribution and how long it stays paused after the distributor
 * paused it (its no-answer policy). */
int acd_sim_agent(acd_sim *s, int agent, double rona, int answer, int resume);
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
const acd_sim_log *acd_sim_log_of(const acd_sim *s, int64_t *n);
/* The answered (abandoned = 0) or abandoned waits of measured calls of queue q. */
const double *acd_sim_waits(const acd_sim *s, int q, int abandoned, int64_t *n);
/* Per measured interval: calls that entered a queue (delayed = 0) or had
 * to wait (1), of queue q or of all (q = -1); nint numbers. */
const int64_t *acd_sim_entered(const acd_sim *s, int q, int delayed);
/* out[0..2]: the driver's call count, events, advances. */
int acd_sim_counts(const acd_sim *s, int64_t *out);
/* The calls still in the centre, in arrival order: how many (at most max
 * into out; NULL out: just count). */
int acd_sim_live(const acd_sim *s, acd_sim_call *out, int max);

#endif
