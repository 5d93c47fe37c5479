/* Drives the simulator's C loop (acd_sim.c, acd_sim_kpi.c) from C alone, for
 * valgrind (.ci/native valgrind): three replications of a small busy centre
 * over every kind of step the loop takes (arrivals of two call types, answers
 * after a delay, offers let ring out, auto-pauses and resumes, wrap-ups,
 * hang-ups, a full queue's rejects, a random strategy drawing from the loop's
 * generator), shifts with breaks and logouts mid-call, and every built-in
 * distribution. Each run checks the KPIs it
 * reads out against each other: every call offered ends in exactly one
 * outcome or is still kept, each accumulator holds as many waits as it
 * counts, no agent has more time than the run. Exit 0, or the number of the
 * check that failed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "acd_engine.h"
#include "acd_native.h"
#include "acd_sim.h"

#define NQ 2
#define NA 12

static int fail(int code, const char *what)
{
    fprintf(stderr, "sim_driver: check %d failed: %s\n", code, what);
    return code;
}

static int run(uint32_t seed)
{
    uint32_t words[624];
    uint32_t x = seed * 2654435761u + 1u;
    for (int i = 0; i < 624; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        words[i] = x;
    }
    acd_engine *e = acd_engine_new(NQ, -600.0, words, 624);
    if (!e)
        return fail(1, "acd_engine_new");
    /* queue 0: longest idle, a short ring, wrap-up, auto-pause after 1 miss;
     * queue 1: random, capped at 3 waiting */
    if (acd_engine_queue(e, 0, 0, 8.0, 5.0, -1, 30.0, 2.0, 1) < 0 ||
        acd_engine_queue(e, 1, 6, 15.0, 0.0, 3, 30.0, 0.0, -1) < 0)
        return fail(2, "acd_engine_queue");
    int cls = acd_engine_class(e, 0, NULL, NULL, 0);
    if (cls < 0)
        return fail(3, "acd_engine_class");
    const int nint = 4;
    acd_sim *s = acd_sim_new(e, NQ, NA, 2, nint, -600.0, 0.0, 1800.0, 7200.0, 9000.0);
    if (!s)
        return fail(5, "acd_sim_new");
    /* Agents: in both queues; the first four on all day, the next four
     * from 1,800 s to 5,400 s with a break, the last four until 3,600 s
     * and back at 4,000 s (their logouts fall mid-call). */
    for (int a = 0; a < NA; a++) {
        int skill[1] = {0}, level[1] = {1}, cap[8] = {1, 0, 0, 0, 0, 0, 0, 0};
        int mq[2] = {0, 1};
        double prio[2] = {a % 2, 0}, delay[2] = {0, 0}, pos[2] = {0, 0};
        long long weight[2] = {1, 1};
        if (acd_sim_profile(s, a, 0, 1, skill, level, cap, 0, 2, mq, prio, delay, pos, weight) < 0)
            return fail(4, "acd_sim_profile");
    }
    for (int a = 0; a < NA; a++) {
        int rc = 0;
        if (a < 4) {
            rc = acd_sim_event(s, -600.0, 5, a, 0, 0);
        } else if (a < 8) {
            rc = acd_sim_event(s, 1800.0 + a, 5, a, 0, 0);
            rc = rc ? rc : acd_sim_event(s, 3000.0, 7, a, a % 2, 300.0);
            rc = rc ? rc : acd_sim_event(s, 5400.0, 6, a, 0, 0);
        } else {
            rc = acd_sim_event(s, -600.0, 5, a, 0, 0);
            rc = rc ? rc : acd_sim_event(s, 3600.0, 6, a, 0, 0);
            rc = rc ? rc : acd_sim_event(s, 4000.0, 5, a, 0, 0);
        }
        if (rc < 0)
            return fail(25, "acd_sim_event");
    }
    double values[3] = {1.0, 4.0, 30.0};
    int talk = acd_sim_dist(s, ACD_SD_EXPONENTIAL, 1.0 / 150.0, 0, NULL, 0);
    int talk2 = acd_sim_dist(s, ACD_SD_LOGNORMAL, log(120.0) - 0.1, 0.45, NULL, 0);
    int patience = acd_sim_dist(s, ACD_SD_UNIFORM, 5.0, 200.0, NULL, 0);
    int answer = acd_sim_dist(s, ACD_SD_EMPIRICAL, 0, 0, values, 3);
    int resume = acd_sim_dist(s, ACD_SD_DETERMINISTIC, 45.0, 0, NULL, 0);
    if (talk < 0 || talk2 < 0 || patience < 0 || answer < 0 || resume < 0)
        return fail(6, "acd_sim_dist");
    if (acd_sim_queue(s, 0, talk, patience) < 0 || acd_sim_queue(s, 1, talk2, -1) < 0)
        return fail(7, "acd_sim_queue");
    for (int a = 0; a < NA; a++)
        if (acd_sim_agent(s, a, a % 3 == 0 ? 0.25 : 0.0, answer, resume) < 0)
            return fail(8, "acd_sim_agent");
    int kinds[2] = {ACD_SK_ARRIVED, ACD_SK_SEQ};
    double consts[2] = {0, 0};
    if (acd_sim_type(s, 0, 0.7, 0, cls, -1, -1, 2, kinds, consts) < 0 ||
        acd_sim_type(s, 1, 1.0, 1, cls, talk, patience, 2, kinds, consts) < 0)
        return fail(9, "acd_sim_type");
    double rates[4] = {0.05, 0.09, 0.0, 0.07};
    if (acd_sim_arrivals(s, 0.04, rates) < 0)
        return fail(10, "acd_sim_arrivals");
    double threshold[NQ] = {20, 20}, wrap[NQ] = {5, 0};
    if (acd_sim_kpi(s, 1800.0, 0.0, 5.0, threshold, wrap, -1, 5) < 0)
        return fail(11, "acd_sim_kpi");
    int rc = acd_sim_run(s, words, 624, 1.7155277699214135, 0);
    if (rc < 0)
        return fail(13, "acd_sim_run");

    /* Every call Metrics counted offered is answered, abandoned, rejected,
     * or still kept; each accumulator holds as many waits as it counts. */
    int64_t n = 0, offered = 0, outcomes = 0, handled = 0, answered = 0;
    const acd_kpi_touch *t = acd_sim_kpi_touches(s, 0, &n);
    acd_kpi_acc acc;
    for (int64_t i = 0; i < n; i++) {
        if (acd_sim_kpi_acc(s, 0, t[i].bucket, t[i].who, &acc) < 0)
            return fail(14, "acd_sim_kpi_acc (queue)");
        offered += acc.n[ACD_KPI_OFFERED];
        answered += acc.n[ACD_KPI_ANSWERED];
        handled += acc.n[ACD_KPI_HANDLED];
        outcomes += acc.n[ACD_KPI_ANSWERED] + acc.n[ACD_KPI_ABANDONED] + acc.n[ACD_KPI_REJECTED];
        if (acc.n_answered_waits != acc.n[ACD_KPI_ANSWERED] ||
            acc.n_abandoned_waits != acc.n[ACD_KPI_ABANDONED] ||
            acc.n[ACD_KPI_ANSWERED_WITHIN] > acc.n[ACD_KPI_ANSWERED])
            return fail(15, "a queue accumulator's waits disagree with its counts");
    }
    int kept = 0;
    int live = acd_sim_live(s, NULL, 0);
    acd_sim_call *calls = calloc((size_t)live + 1, sizeof(acd_sim_call));
    if (!calls || acd_sim_live(s, calls, live) != live)
        return fail(16, "acd_sim_live");
    for (int i = 0; i < live; i++)
        kept += calls[i].m_live && !calls[i].m_answered;
    free(calls);
    int64_t scalars[3], counts[3];
    double now;
    if (acd_sim_kpi_scalars(s, scalars, &now) < 0 || acd_sim_counts(s, counts) < 0)
        return fail(17, "acd_sim_kpi_scalars / acd_sim_counts");
    if (offered != scalars[1] || offered != counts[0] || outcomes + kept != offered)
        return fail(18, "a call offered without exactly one outcome");
    if (answered < 100 || handled > answered || handled < answered / 2)
        return fail(19, "too few calls answered or handled for this load");
    /* No agent has more time than the run, and every agent has some. */
    const acd_kpi_touch *at = acd_sim_kpi_touches(s, 1, &n);
    double total[NA] = {0};
    int64_t pauses = 0;
    for (int64_t i = 0; i < n; i++) {
        if (acd_sim_kpi_acc(s, 1, at[i].bucket, at[i].who, &acc) < 0)
            return fail(20, "acd_sim_kpi_acc (agent)");
        for (int c = 0; c < ACD_KPI_TIMES; c++)
            total[at[i].who] += acc.time[c];
        pauses += acc.auto_pauses;
    }
    for (int a = 0; a < NA; a++)
        if (!(total[a] > 0) || total[a] > now + 600.0 + 1e-6)
            return fail(21, "an agent's time is not within the run");
    if (pauses == 0)
        return fail(22, "no auto-pause: the driver does not cover pauses");
    int li, pa, pe, cat, nss, why;
    double since;
    acd_kpi_session ss[8];
    int named[NA];
    if (acd_sim_named(s, named, NA) != NA)
        return fail(12, "every agent logged in, and was named");
    for (int a = 0; a < NA; a++)
        if (acd_sim_kpi_agent_of(s, a, &li, &pa, &pe, &cat, &since, ss, 8, &nss) < 0 ||
            acd_sim_paused(s, a, &why) < 0 || (named[a] >= 4 && named[a] < 8 && li))
            return fail(23, "acd_sim_kpi_agent_of: the afternoon shift is over");
    acd_sim_free(s);
    acd_engine_free(e);
    return 0;
}

int main(void)
{
    if (acd_sim_abi_version() != ACD_SIM_ABI)
        return fail(24, "ABI");
    for (uint32_t seed = 1; seed <= 3; seed++) {
        int rc = run(seed);
        if (rc)
            return rc;
    }
    printf("sim_driver: 3 replications, every check passed\n");
    return 0;
}
