/* acdcore native backend: the simulator loop's private state, shared by
 * acd_sim.c (the loop) and acd_sim_kpi.c (the KPIs it collects). Not part
 * of the module's interface (build.py does not read it).
 */
#ifndef ACD_SIM_INTERNAL_H
#define ACD_SIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "acd_heap.h"
#include "acd_rng.h"
#include "acd_sim.h"

/* Driver event kinds (the heap entry's kind is kind + 16 * agent). */
enum {
    K_ARRIVE = 0,
    K_ANSWER = 2, /* agent: the engine's index */
    K_END = 3,
    K_ABANDON = 4,
    K_LOGIN = 5, /* agent (here and below): the simulator's number */
    K_LOGOUT = 6,
    K_BREAK = 7, /* ref: the reason's number, token: the duration's bits */
    K_RESUME = 8,
};
/* A call's state (the driver's view, and Metrics'); GONE: it left. */
enum { S_WAITING = 0, S_RINGING = 1, S_CONNECTED = 2, S_GONE = 3 };
/* An agent session's state (Metrics' _Session). */
enum { SS_RINGING = 0, SS_CONNECTED = 1, SS_WRAP = 2 };

typedef struct dist {
    int kind;
    double a, b;
    double *values;
    int n;
} dist;

typedef struct ctype {
    double cum;
    int queue, cls, handle, patience, nkey;
    int key_kind[6];
    double key_const[6];
} ctype;

/* A call: the driver's view, then Metrics' (_Call): m_seq its arrival
 * number there, m_live while Metrics keeps it. */
typedef struct scall {
    double arrived;
    int64_t seq;
    int32_t state, queue, bucket, type, offered_from, agent;
    int64_t m_seq, m_bucket;
    int32_t m_live, m_state, m_current, m_answered, m_agent;
    double answered_at;
} scall;

/* An agent as the driver sees it (_sim_state._Agent), by the simulator's
 * number, with the profile its logins hand the engine. */
typedef struct sagent {
    double rona;
    int answer, resume, connected, paused;
    int logged_in, pending_logout, on_break, relogin;
    int idx;         /* the engine's index (given at its first login), or -1 */
    int why;         /* the last pause's queue (>= 0) or -2 - break reason; -1 after a
                        resume or a login (the façade's reason: a logout keeps it) */
    int64_t token;   /* a pending resume is stale unless it holds this */
    int nsk, nmem, region;
    int *skill, *level, cap[8], *mq;
    unsigned excl;
    double *mprio, *mdelay, *mpos;
    long long *mweight;
} sagent;

typedef struct dvec {
    double *v;
    int64_t n, cap;
} dvec;

/* Offers pending an answer: (call, agent) -> token, open addressing. */
typedef struct omap {
    uint64_t *keys; /* 0: empty; else key + 1 */
    int64_t *vals;
    int64_t cap, n;
} omap;

/* Metrics' _CallAcc, the fields the covered loop moves. */
typedef struct kacc {
    int64_t n[ACD_KPI_COUNTS];
    double talk, wrap;
    dvec aw, bw; /* answered, abandoned waits */
} kacc;

/* Metrics' _AgentAcc. */
typedef struct kaacc {
    double time[ACD_KPI_TIMES];
    int64_t auto_pauses;
    kacc calls;
} kaacc;

/* Metrics' _Session, keyed by the call's Metrics number (seq). */
typedef struct ksession {
    int64_t seq, bucket;
    int32_t call, state, queue, leg;
    double talk, ended, until;
} ksession;

/* Metrics' _Agent: its sessions in insertion order (a dict's). */
typedef struct kagent {
    int exists, logged_in, paused, pending_logout, category;
    double since;
    ksession *ss;
    int64_t nss, css;
} kagent;

/* Metrics' accumulators and live agent records. */
typedef struct kpi {
    int on;
    double interval, tz, short_ab;
    double *threshold, *wrap; /* per queue */
    int64_t b0, nb;           /* buckets b0 .. b0 + nb - 1 */
    void **qacc;              /* nb x nq kacc, made on first use */
    void **aacc;              /* nb x na kaacc */
    acd_kpi_touch *qt, *at;   /* the order they were made in */
    int64_t nqt, cqt, nat, cat;
    kagent *agents;
    acd_kpi_wrap *wraps; /* a heap by (until, seq) */
    int64_t nw, cw, wrap_seq, call_seq, ignored;
    double now;
} kpi;

struct acd_sim {
    acd_engine *e;
    int nq, na, nt, nint;
    double begin, origin, interval, mend, hard;
    dist *dists;
    int ndist, dcap;
    int *q_handle, *q_patience;
    sagent *agents;
    int *sim_of; /* the engine's index -> the simulator's number */
    int named;   /* agents given an engine index so far */
    ctype *types;
    double warm, *rates;
    /* the arrival stream: phase -1 the warm-up, k interval k; in_k: inside it */
    int phase, in_k;
    double at, bound;
    acd_rng rng;
    double nv;
    acd_heap *heap;
    scall *calls;
    int64_t ncalls, ccap, call0, seq0, live;
    omap offers;
    int64_t token;
    dvec *waits;      /* 2 per queue: answered, abandoned */
    int64_t *entered; /* (nq + 1) x 2 x nint: per queue then all; entered, delayed */
    int64_t events, advances;
    acd_sim_end *ends; /* the calls that ended or hung up, in order */
    int64_t nend, cend;
    int err; /* a failure inside a KPI handler (ACD_ENOMEM, ACD_EINDEX) */
    kpi k;
};

int sim_grow(void **p, int64_t *cap, int64_t need, size_t size);
int sim_dvec_push(dvec *d, double x);
scall *sim_call(acd_sim *s, int64_t number);

/* The KPI handlers (acd_sim_kpi.c): Metrics' field handlers, each after
 * its _at(t). A failure sets s->err. */
void kpi_arrived(acd_sim *s, double t, int64_t num, int queue);
void kpi_queued(acd_sim *s, double t, int64_t num, int queue);
void kpi_offer(acd_sim *s, double t, int64_t num, int agent, int leg);
void kpi_cancel(acd_sim *s, double t, int64_t num, int agent, int reason);
void kpi_reject(acd_sim *s, double t, int64_t num);
void kpi_answered(acd_sim *s, double t, int64_t num, int agent);
void kpi_ended(acd_sim *s, double t, int64_t num);
void kpi_abandoned(acd_sim *s, double t, int64_t num);
void kpi_pause(acd_sim *s, double t, int agent);
void kpi_paused(acd_sim *s, double t, int agent);
void kpi_resumed(acd_sim *s, double t, int agent);
void kpi_login(acd_sim *s, double t, int agent);
void kpi_logout(acd_sim *s, double t, int agent);
void kpi_free(acd_sim *s);

#endif
