/* acdcore native backend: the hot state and the matching of the dispatch loop.
 *
 * The Python distributor keeps the public objects, the events, the actions and
 * the timers; this core keeps what every routing decision reads (agents'
 * skills, capacity, sessions, strategy keys and memberships; each queue's free
 * agents and waiting calls in policy order) and makes the decisions:
 *
 *   acd_route_call   the best free eligible agent(s) for one waiting call;
 *   acd_route_agent  the best waiting calls for an agent that gained capacity,
 *                    looping until it is full or nothing eligible waits;
 *   acd_match_agents the same loop over many agents (a bulk change).
 *
 * Every function validates its arguments and returns a negative ACD_E* code
 * instead of touching state when they are wrong; nothing aborts.
 */
#ifndef ACD_NATIVE_H
#define ACD_NATIVE_H

#define ACD_NATIVE_ABI 3
#define ACD_KEYLEN 6 /* numbers in a policy sort key (shorter keys are padded) */
#define ACD_NCH 8    /* channels an agent can have capacity on */

#define ACD_OK 0
#define ACD_ENOMEM -1  /* allocation failed; nothing changed */
#define ACD_EINDEX -2  /* an index (queue, agent, call slot, class) is out of range */
#define ACD_EARG -3    /* an argument is malformed (count, channel, NaN, ...) */
#define ACD_ESTATE -4  /* the object is not in a state for this (e.g. unknown agent) */

typedef struct acd_core acd_core;

int acd_abi_version(void);

acd_core *acd_new(int nqueues);
void acd_free(acd_core *core);

int acd_queue_set(acd_core *core, int queue, int strategy);
int acd_class_add(acd_core *core, int nreq, const int *skill, const int *minimum, int channel,
                  int region, int nextra, const int *extra);
int acd_agent_profile(acd_core *core, int agent, int order, int region, int nsk,
                      const int *skill, const int *level, const int *cap, unsigned excl,
                      int nmem, const int *mqueue, const double *mprio, const double *mdelay,
                      const double *mpos, const long long *mweight, int nscan,
                      const int *scanq, const int *scanmem);
/* Returns 1 when the agent is now offerable (in its queues' free lists), else 0. */
int acd_agent_sync(acd_core *core, int agent, int avail, double idle_since, double calls_taken,
                   double talk_time, int guarded, int nsess, const long long *sess_seq,
                   const int *sess_ch);
int acd_call_put(acd_core *core, long long seq, int queue, int cls, const double *key,
                 double entered, int preferred, double preferred_until);
int acd_call_remove(acd_core *core, int slot);
int acd_call_restage(acd_core *core, int slot, int cls);

int acd_route_call(acd_core *core, int slot, double now, int rr_last, int *out_agent,
                   long long *out_weight, int cap, double *earliest);
int acd_route_agent(acd_core *core, int agent, int avail, double now, int max, int *out_slot,
                    double *earliest);
int acd_match_agents(acd_core *core, int n, const int *agents, double now, int cap,
                     int *out_agent, int *out_slot);

/* Introspection, for invariant checks and tests. */
int acd_queue_nfree(const acd_core *core, int queue);
int acd_queue_free_at(const acd_core *core, int queue, int i);
int acd_queue_nwaiting(const acd_core *core, int queue);
int acd_call_state(const acd_core *core, int slot); /* 0 free slot, 1 unlinked, 2 waiting */
int acd_agent_offerable(const acd_core *core, int agent);
int acd_ncalls(const acd_core *core);
long long acd_memory(const acd_core *core);

#endif
