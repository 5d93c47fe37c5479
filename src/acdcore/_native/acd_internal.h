/* acdcore native backend, internal: the structures the dispatch core's files
 * share (acd_native.c, acd_agents.c, acd_calls.c, acd_match.c), the small
 * helpers they all inline, and the functions they call in one another. Not
 * part of the module's interface (that is acd_native.h); see acd_native.c
 * for the data layout.
 */
#ifndef ACD_INTERNAL_H
#define ACD_INTERNAL_H

#include <stddef.h>

#include "acd_native.h"

#if defined(__GNUC__)
#define ACD_HIDDEN __attribute__((visibility("hidden")))
#else
#define ACD_HIDDEN
#endif

#define MAXLVL 16
#define NFWD 2                /* skip-list levels a call keeps in itself */
#define TOWER (MAXLVL - NFWD) /* links of a tower: the levels above NFWD */

enum {
    S_LONGEST_IDLE = 0,
    S_FEWEST_CALLS,
    S_LEAST_TALK_TIME,
    S_ROUND_ROBIN,
    S_LINEAR,
    S_MOST_SKILLED,
    S_RANDOM,
    S_WEIGHTED_RANDOM,
    S_RING_ALL,
    S_COUNT
};

typedef struct {
    int nreq;
    int *skill;
    int *minimum;
    int channel;
    int region; /* -1: any region */
    int nextra;
    int *extra;
} cls_t;

/* What a search reads of a waiting call besides its key (32 bytes). */
typedef struct {
    double entered;
    double preferred_until;
    long long seq;
    int preferred; /* agent index or -1 */
    int ref;       /* in a call: its bucket; in a queue's hw[]: the head call's slot */
} info_t;

typedef struct {
    double v[ACD_KEYLEN];
} hkey_t;

typedef struct {
    int channel; /* its class's channel */
    int fwd[MAXLVL];
    int queue;
    int cls;
    int local; /* index among its queue's buckets (q->bk), in creation order */
    int level;
    int count;
    int active; /* 1 while in the queue's active list (count > 0) */
} bucket_t;

/* A waiting call: 96 bytes. Its queue and class are its bucket's. Its skip
 * list links at levels 1..NFWD are here; a call drawn higher (1 in 16 with
 * NFWD 2) also holds a tower, TOWER links in core->tw. A free slot links to
 * the next free one through fwd[0]. */
typedef struct {
    double key[ACD_KEYLEN];
    info_t i; /* i.ref: its bucket */
    int tower; /* index of its tower, or -1 */
    int fwd[NFWD];
    unsigned char state; /* 0 free slot, 1 allocated not linked, 2 linked in its bucket */
    unsigned char level;
} call_t;

/* A membership's priority and delay, what a search reads of it. */
typedef struct {
    double priority;
    double delay;
} pd_t;

typedef struct {
    int queue;
    int freepos; /* index in the queue's free list while there (see in_free) */
    pd_t pd;
    double position;
    long long weight;
} mem_t;

/* One queue an agent looks for work in. `ok` caches, per bucket of that queue
 * (by its local index), whether the bucket's class is open to the agent apart
 * from its channel being free: a membership through which it may take those
 * calls, region and skills. It depends only on the agent's profile and the
 * class, which never change while the profile holds, so it is computed once
 * per bucket (for the buckets that exist when the profile is set, and for
 * later ones when a search first meets them) and dropped with the profile. */
typedef struct {
    int queue;
    int mem; /* index in mem[], or -1 for a queue borrowing this agent's queues */
    pd_t pd; /* a copy of mem[mem].pd (read with the scan list: one array) */
    int nv;  /* buckets 0..nv-1 of the queue have their verdict: bit l of */
    int orig; /* its index in the scan list as given (the order of ties) */
    unsigned long long ok0;   /* buckets 0..63 (inline: no pointer to chase) */
    unsigned long long *more; /* buckets 64.., (nv - 1) / 64 words; NULL below 65 */
} scan_t;

static inline unsigned long long *scan_word(scan_t *sc, int local)
{
    return local < 64 ? &sc->ok0 : &sc->more[(local >> 6) - 1];
}

/* A session the agent holds: the call's sequence number and its channel. */
typedef struct {
    long long seq;
    int ch;
} sess_t;

#define SESS_INLINE 2 /* sessions an agent holds in itself before allocating */

typedef struct {
    int known;
    int order;
    int region;
    int avail;
    int offerable;
    int guarded;
    unsigned stamp;
    int nhead; /* scan[0..nhead-1]: what a search reads when it finds a call in its
                * first priority's own queues (those and the entry after them):
                * what a bulk match asks for ahead (here: a hole before a double) */
    double idle_since;
    double calls_taken;
    double talk_time;
    int nsk;
    unsigned char *sk;
    int cap[ACD_NCH];
    unsigned capmask; /* channels with capacity: the free ones while no session is held */
    unsigned excl;
    int nsess, capsess; /* capsess: SESS_INLINE while in sess_in, else sess_heap's */
    sess_t sess_in[SESS_INLINE]; /* the common case: no allocation, no pointer to chase */
    sess_t *sess_heap;           /* more sessions than SESS_INLINE; NULL until needed */
    int nmem;
    mem_t *mem;
    int nscan;
    int nown;     /* scan[0..nown-1]: its own queues by priority; then the borrowed */
    scan_t *scan; /* (in that order so that a search stops at the first own
                   * queue whose priority is above its pick's; `orig` keeps
                   * ties in the given order) */
} agent_t;

/* A queue. Its active list holds its non-empty buckets in the order of
 * their head calls' keys, one int each: the bucket's local index, its
 * class's channel and whether its head's key equals the previous entry's
 * (ACT_* below), so a search steps over the buckets an agent cannot serve,
 * and knows where it may stop, without reading anything else. The head
 * calls' fields are copied into hw[] and hk[] (by local index, 32 + 48
 * bytes), so that looking at a bucket's head touches neither the bucket nor
 * the call; they are refreshed only by place. The fields a search reads come
 * first (one cache line). */
typedef struct {
    int nwaiting;
    int nact;
    int *active; /* the non-empty buckets by head key: ACT_ENTRY(local, channel, tie) */
    info_t *hw;  /* local index -> its head call's info (ref: the head's slot) */
    hkey_t *hk;  /* local index -> its head call's key */
    int *hn;     /* local index -> the slot after its head call, or -1: only a
                  * hint (what to prefetch when the head may be taken), never
                  * read for a decision */
    int *bk;     /* local index -> bucket id */
    int nbk, capbk; /* capbk: the capacity of bk, hw, hk and hn */
    /* per channel, a bit per bucket among the first 64 (by local index):
     * the bucket's class is on that channel (a search's one-word test) */
    unsigned long long chm[ACD_NCH];
    int capact;
    int strategy;
    int nfree, capfree;
    int *free_agent;
    int *free_mem;
} queue_t;

#define ACT_ENTRY(local, ch, tie) ((local) << 4 | (ch) << 1 | (tie))
#define ACT_LOCAL(e) ((e) >> 4)
#define ACT_CH(e) (((e) >> 1) & 7)
#define ACT_TIE(e) ((e) & 1)
#define MAXBK (1 << 26) /* buckets a queue may have (ACT_ENTRY fits an int) */

struct acd_core {
    int nq;
    queue_t *q;
    int na, capa;
    agent_t *a;
    int nc, capc;
    call_t *c;
    int freehead; /* first free call slot, -1 when none */
    int ntw, captw; /* towers made; captw counts ints */
    int *tw;
    int twfree; /* first free tower, -1 when none (linked through its link 0) */
    int nb, capb;
    bucket_t *b;
    int capbmap;
    int *bmap; /* (queue, class) -> bucket id: open addressing, -1 empty */
    int ncls, capcls;
    cls_t *cls;
    unsigned stamp;
    unsigned long long rng;
    int ncalls; /* allocated call slots */
    int *scratch_mem; /* per route_call candidate: membership index */
    int capscratch;
    unsigned char *off; /* per agent: its offerable flag (a dense copy; capacity capa) */
    long long nfree_all; /* entries in all the free lists */
    int ndrop, capdrop;
    int *drop; /* agents pending a drop from the free lists (drop_mark) */
    long long dropmem; /* their memberships */
};

/* ---------------------------------------------------- shared, in their files */

ACD_HIDDEN int grow(void **arr, int *cap, int need, size_t size);
ACD_HIDDEN int sess_reserve(agent_t *a, int need);
ACD_HIDDEN int scan_open(const acd_core *core, const agent_t *a, const scan_t *sc, const bucket_t *b);
ACD_HIDDEN int scan_extend(const acd_core *core, const agent_t *a, scan_t *sc);
ACD_HIDDEN int set_offerable(acd_core *core, int ai, int on);
ACD_HIDDEN int reserve_free(acd_core *core, int ai);
ACD_HIDDEN void drop_mark(acd_core *core, int ai);
ACD_HIDDEN void drop_flush(acd_core *core);
ACD_HIDDEN void place(acd_core *core, int bi, int where);
ACD_HIDDEN void take_call(acd_core *core, int slot, int where);

/* ------------------------------------------------------------ inline helpers */

static inline int keycmp(const double *x, const double *y)
{
    for (int i = 0; i < ACD_KEYLEN; i++) {
        if (x[i] < y[i])
            return -1;
        if (x[i] > y[i])
            return 1;
    }
    return 0;
}

static inline int level_of(const agent_t *a, int skill)
{
    return skill < a->nsk ? a->sk[skill] : 0;
}

/* The agent's sessions: inline up to SESS_INLINE, then on the heap. (An
 * index into agent_t, not a pointer kept in it: the agents' array moves.) */
static inline sess_t *sess_of(agent_t *a)
{
    return a->capsess > SESS_INLINE ? a->sess_heap : a->sess_in;
}

static inline const sess_t *sess_of_c(const agent_t *a)
{
    return a->capsess > SESS_INLINE ? a->sess_heap : a->sess_in;
}

static inline int channel_free(const agent_t *a, int ch)
{
    if (a->cap[ch] <= 0)
        return 0;
    int used = 0;
    unsigned mine = 1u << ch;
    const sess_t *ss = sess_of_c(a);
    for (int i = 0; i < a->nsess; i++) {
        int s = ss[i].ch;
        if (s == ch)
            used++;
        else if ((a->excl & (1u << s)) || (a->excl & mine))
            return 0;
    }
    return used < a->cap[ch];
}

static inline unsigned free_mask(const agent_t *a)
{
    if (a->nsess == 0)
        return a->capmask;
    unsigned m = 0;
    for (unsigned left = a->capmask; left; left &= left - 1) {
        int ch = 0;
        while (!((left >> ch) & 1))
            ch++;
        if (channel_free(a, ch))
            m |= 1u << ch;
    }
    return m;
}

static inline int find_mem(const agent_t *a, int queue)
{
    for (int i = 0; i < a->nmem; i++)
        if (a->mem[i].queue == queue)
            return i;
    return -1;
}

/* The membership through which an agent may serve a call of (queue, class):
 * the call's own queue first, then the class's extra queues in order. */
static inline int membership_for(const agent_t *a, int queue, const cls_t *cl)
{
    int m = find_mem(a, queue);
    for (int i = 0; m < 0 && i < cl->nextra; i++)
        m = find_mem(a, cl->extra[i]);
    return m;
}

static inline int class_ok(const agent_t *a, const cls_t *cl)
{
    if (cl->region >= 0 && a->region != cl->region)
        return 0;
    for (int i = 0; i < cl->nreq; i++)
        if (level_of(a, cl->skill[i]) < cl->minimum[i])
            return 0;
    return 1;
}

static inline int in_session(const agent_t *a, long long seq)
{
    const sess_t *ss = sess_of_c(a);
    for (int i = 0; i < a->nsess; i++)
        if (ss[i].seq == seq)
            return 1;
    return 0;
}

/* The cached verdict of the queue's bucket `local` for the agent; computed
 * directly when the cache cannot grow. */
static inline int scan_ok(const acd_core *core, const agent_t *a, scan_t *sc, int local)
{
    if (local >= sc->nv && scan_extend(core, a, sc) != ACD_OK)
        return scan_open(core, a, sc, &core->b[core->q[sc->queue].bk[local]]);
    return (int)((*scan_word(sc, local) >> (local & 63)) & 1);
}

#endif
