/* valgrind / sanitizer driver for the dispatch core's matching (acd_native.c,
 * acd_agents.c, acd_calls.c, acd_match.c). Two cores get the same random
 * world: queues whose buckets outgrow one 64-bit verdict word, classes on
 * three channels with extra queues and regions, agents with several
 * sessions a channel, membership delays, preferred agents, equal keys and
 * equal priorities. Each round one core matches a random batch of agents in
 * one acd_match_agents call (its bulk free-list drops), the other routes the
 * same agents one by one with acd_route_agent and acd_agent_sync, as the
 * distributor does; the pairs must be the same, in the same order, and
 * both cores' free lists must be exactly the offerable agents' memberships.
 * Calls are removed, restaged and put back between rounds and profiles are
 * pushed again, then both cores are freed.
 *
 *   N=src/acdcore/_native
 *   gcc -std=c99 -g -Wall -Wextra -I$N tests/c/match_driver.c $N/acd_native.c $N/acd_agents.c \
 *       $N/acd_calls.c $N/acd_match.c -lm -o /tmp/match_driver
 *   valgrind --error-exitcode=99 --leak-check=full /tmp/match_driver
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "acd_native.h"

#define NQ 5
#define NA 120
#define NCLS 160
#define NCALL 4000
#define NSK 12

static uint64_t state = 0x2545F4914F6CDD1DULL;

static unsigned next(unsigned n)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (unsigned)(state % n);
}

typedef struct {
    int nmem, mq[NQ], nscan, sq[NQ], sm[NQ];
    double prio[NQ], delay[NQ], pos[NQ];
    long long weight[NQ];
    int nsk, skill[NSK], level[NSK], cap[8], region;
    unsigned excl;
    int nsess;
    long long sess[64];
    int sch[64];
} agent;

static agent ag[NA];
static int call_queue[NCALL], call_cls[NCALL], slot_of[2][NCALL], waiting[NCALL];
static double call_key[NCALL][ACD_KEYLEN], call_entered[NCALL], call_until[NCALL];
static int call_pref[NCALL], cls_ch[NCLS];

static int push_profile(acd_core *c, int i)
{
    agent *a = &ag[i];
    return acd_agent_profile(c, i, i, a->region, a->nsk, a->skill, a->level, a->cap, a->excl,
                             a->nmem, a->mq, a->prio, a->delay, a->pos, a->weight, a->nscan,
                             a->sq, a->sm);
}

static void draw_profile(int i)
{
    agent *a = &ag[i];
    memset(a, 0, sizeof *a);
    a->region = (int)next(3);
    a->nsk = 1 + (int)next(NSK);
    for (int k = 0; k < a->nsk; k++) {
        a->skill[k] = k;
        a->level[k] = (int)next(4);
    }
    for (int ch = 0; ch < 3; ch++)
        a->cap[ch] = (int)next(4); /* up to 3 a channel: sessions beyond the inline two */
    a->excl = next(4) == 0 ? 1u : 0u;
    int taken[NQ] = {0};
    int want = 1 + (int)next(NQ);
    for (int k = 0; k < want; k++) {
        int q = (int)next(NQ);
        if (taken[q])
            continue;
        taken[q] = 1;
        a->mq[a->nmem] = q;
        a->prio[a->nmem] = (double)next(3);
        a->delay[a->nmem] = next(4) == 0 ? 1.0 + next(3) : 0.0;
        a->pos[a->nmem] = (double)next(5);
        a->weight[a->nmem] = 1 + next(9);
        a->sq[a->nscan] = q;
        a->sm[a->nscan++] = a->nmem++;
    }
    for (int q = 0; q < NQ; q++) /* queues borrowing its queues in a plan step */
        if (!taken[q] && next(3) == 0) {
            a->sq[a->nscan] = q;
            a->sm[a->nscan++] = -1;
        }
    for (int k = a->nscan - 1; k > 0; k--) { /* any order: the core sorts its own */
        int j = (int)next((unsigned)k + 1), tq = a->sq[k], tm = a->sm[k];
        a->sq[k] = a->sq[j];
        a->sm[k] = a->sm[j];
        a->sq[j] = tq;
        a->sm[j] = tm;
    }
}

static int sync_agent(acd_core *c, int i, int avail)
{
    agent *a = &ag[i];
    return acd_agent_sync(c, i, avail, 0.0, 0.0, 0.0, 0, a->nsess, a->sess, a->sch);
}

/* Every free list holds exactly the memberships of the offerable agents. */
static int check_free(acd_core *c)
{
    int seen[NA][NQ];
    memset(seen, 0, sizeof seen);
    for (int q = 0; q < NQ; q++) {
        int n = acd_queue_nfree(c, q);
        for (int k = 0; k < n; k++) {
            int i = acd_queue_free_at(c, q, k);
            if (i < 0 || i >= NA || acd_agent_offerable(c, i) != 1 || seen[i][q]++)
                return 0;
        }
    }
    for (int i = 0; i < NA; i++)
        for (int m = 0; m < ag[i].nmem; m++)
            if (seen[i][ag[i].mq[m]] != (acd_agent_offerable(c, i) == 1))
                return 0;
    return 1;
}

static int put(acd_core *core[2], int k)
{
    for (int w = 0; w < 2; w++) {
        slot_of[w][k] = acd_call_put(core[w], k / 3, call_queue[k], call_cls[k], call_key[k],
                                     call_entered[k], call_pref[k], call_until[k]);
        if (slot_of[w][k] < 0)
            return 0;
    }
    waiting[k] = 1;
    return 1;
}

int main(void)
{
    acd_core *core[2] = {acd_new(NQ), acd_new(NQ)};
    if (!core[0] || !core[1])
        return 1;
    for (int w = 0; w < 2; w++) {
        for (int q = 0; q < NQ; q++)
            if (acd_queue_set(core[w], q, (int)(q % 9)) != ACD_OK)
                return 2;
        for (int k = 0; k < NCLS; k++) {
            state = 0x9E3779B97F4A7C15ULL + (uint64_t)k; /* the same classes in both */
            int nreq = (int)next(3), skill[3], minimum[3], extra[2];
            for (int r = 0; r < nreq; r++) {
                skill[r] = (int)next(NSK);
                minimum[r] = 1 + (int)next(3);
            }
            int nextra = next(4) == 0 ? 1 : 0;
            extra[0] = (int)next(NQ);
            int region = next(5) == 0 ? (int)next(3) : -1;
            cls_ch[k] = (int)next(3);
            if (acd_class_add(core[w], nreq, skill, minimum, cls_ch[k], region, nextra, extra) != k)
                return 3;
        }
    }
    state = 88172645463325252ULL;
    for (int i = 0; i < NA; i++) {
        draw_profile(i);
        if (push_profile(core[0], i) || push_profile(core[1], i))
            return 4;
    }
    for (int k = 0; k < NCALL; k++) {
        call_queue[k] = k < NCALL / 2 ? 0 : (int)next(NQ); /* queue 0: over 64 buckets */
        call_cls[k] = (int)next(NCLS);
        for (int j = 0; j < ACD_KEYLEN; j++)
            call_key[k][j] = j < 3 ? (double)next(4) : -INFINITY; /* many equal keys */
        call_entered[k] = (double)next(20);
        call_pref[k] = next(6) == 0 ? (int)next(NA) : -1;
        call_until[k] = call_pref[k] >= 0 ? 10.0 + next(20) : 0.0;
    }
    int placed = 0;
    long pairs = 0;
    for (int round = 0; round < 60; round++) {
        double now = 5.0 + round;
        for (int add = 0; add < 150 && placed < NCALL; add++)
            if (!put(core, placed++))
                return 5;
        for (int i = 0; i < NA; i++)
            if (sync_agent(core[0], i, 1) < 0 || sync_agent(core[1], i, 1) < 0)
                return 6;
        int batch[NA], nb = 0;
        for (int i = 0; i < NA; i++)
            if (next(3) != 0)
                batch[nb++] = i;
        int oa[NA * 64], os[NA * 64];
        int made = acd_match_agents(core[0], nb, batch, now, NA * 64, oa, os);
        if (made < 0)
            return 7;
        int j = 0;
        for (int b = 0; b < nb; b++) {
            int i = batch[b], out[64];
            double earliest;
            int n = acd_route_agent(core[1], i, 1, now, 64, out, &earliest);
            if (n < 0)
                return 8;
            for (int t = 0; t < n; t++, j++) {
                if (j >= made || oa[j] != i)
                    return 9;
                int k0 = -1;
                for (int k = 0; k < placed; k++)
                    if (waiting[k] && slot_of[1][k] == out[t])
                        k0 = k;
                if (k0 < 0 || slot_of[0][k0] != os[j])
                    return 10;
                if (acd_call_state(core[0], os[j]) != 1 || acd_call_state(core[1], out[t]) != 1)
                    return 11;
                waiting[k0] = 0;
                ag[i].sess[ag[i].nsess] = k0 / 3;
                ag[i].sch[ag[i].nsess++] = cls_ch[call_cls[k0]];
            }
            if (sync_agent(core[1], i, 1) < 0)
                return 12;
        }
        if (j != made)
            return 13;
        pairs += made;
        if (!check_free(core[0]) || !check_free(core[1]))
            return 14;
        /* the calls taken end; some waiting calls leave or change class */
        for (int k = 0; k < placed; k++) {
            if (!waiting[k] && slot_of[0][k] >= 0) {
                if (acd_call_remove(core[0], slot_of[0][k]) || acd_call_remove(core[1], slot_of[1][k]))
                    return 15;
                slot_of[0][k] = slot_of[1][k] = -1;
            } else if (waiting[k] && next(40) == 0) {
                int cls = (int)next(NCLS);
                if (acd_call_restage(core[0], slot_of[0][k], cls) ||
                    acd_call_restage(core[1], slot_of[1][k], cls))
                    return 16;
                call_cls[k] = cls;
            } else if (waiting[k] && next(60) == 0) {
                if (acd_call_remove(core[0], slot_of[0][k]) || acd_call_remove(core[1], slot_of[1][k]))
                    return 17;
                waiting[k] = 0;
                slot_of[0][k] = slot_of[1][k] = -1;
            }
        }
        for (int i = 0; i < NA; i++) {
            if (next(2) == 0)
                ag[i].nsess = 0; /* its calls ended */
            if (next(15) == 0) {
                draw_profile(i);
                if (push_profile(core[0], i) || push_profile(core[1], i))
                    return 18;
            }
        }
    }
    if (acd_match_agents(core[0], 1, (int[]){NA}, 0.0, 1, (int[1]){0}, (int[1]){0}) != ACD_EINDEX)
        return 19;
    printf("%ld pairs, same in both cores; %d calls put\n", pairs, placed);
    acd_free(core[0]);
    acd_free(core[1]);
    acd_free(NULL);
    return 0;
}
