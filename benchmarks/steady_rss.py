"""Long run: does resident memory stay flat once the system is in steady state?

Drives one distributor through ``--events`` events (default 10 million) of a
contact centre at a steady load: Poisson arrivals over several queues and
channels, agents who answer, decline or miss, callers who abandon, wrap-up,
pauses, transfers and logins/logouts. Every event kind goes through the
public API. Resident memory (``/proc/self/statm``) is sampled at fixed event
counts; the report gives the samples and the growth from the end of warm-up
to the end. The driver reads the distributor through its public views only
(on the native backend the C engine holds the state until the first
transfer, which hands it over to the Python handlers).

    python benchmarks/steady_rss.py --backend native --events 10000000
"""

from __future__ import annotations

import argparse
import heapq
import os
import random
import sys
import time


def rss_bytes() -> int:
    """Current resident set size of this process."""
    with open("/proc/self/statm", encoding="ascii") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["python", "native"], default="native")
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--agents", type=int, default=200)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)

    import acdcore as a

    rng = random.Random(args.seed)
    queues = [
        a.QueueConfig(
            f"q{i}",
            strategy=list(a.Strategy)[i % len(a.Strategy)],
            requirement={f"s{i}": 1},
            wrap_up=2.0,
            ring_timeout=10.0,
        )
        for i in range(6)
    ]
    acd = a.Distributor(queues, rng=random.Random(args.seed), backend=args.backend)
    profiles = []
    for i in range(args.agents):
        served = rng.sample(range(6), 3)
        profiles.append(
            a.AgentProfile(
                f"a{i}",
                skills={f"s{q}": rng.randint(1, 10) for q in served},
                queues=[f"q{q}" for q in served],
                capacity={a.Channel.VOICE: 1, a.Channel.CHAT: 2},
                exclusive=[a.Channel.VOICE],
            )
        )
    # One heap of (time, seq, kind, ref) drives the world.
    heap: list[tuple[float, int, str, str]] = []
    seq = 0

    def call_view(call_id: str) -> a.CallView | None:
        """The live call's view (public reads only: on the C engine the
        records are not kept), or None."""
        try:
            return acd.call(call_id)
        except a.UnknownCall:
            return None

    def at(when: float, kind: str, ref: str) -> None:
        nonlocal seq
        heapq.heappush(heap, (when, seq, kind, ref))
        seq += 1

    # Slight overload (voice alone): calls wait; abandonment keeps queues bounded.
    agents_busy_s = 60.0
    rate = 1.1 * args.agents / (agents_busy_s + 6.0)
    at(0.0, "arrive", "")
    for prof in profiles:
        at(rng.uniform(0, 5), "login", prof.agent_id)
    calls = 0
    events = 0
    budget = args.events
    every = max(1, budget // args.samples)
    samples: list[tuple[int, int, int]] = []  # (events, rss, waiting)
    t0 = time.perf_counter()

    def react(actions: list[object]) -> None:
        for act in actions:
            if isinstance(act, a.Offer):
                r = rng.random()
                if r < 0.85:
                    at(act.at + rng.uniform(0.5, 6.0), "answer", f"{act.call_id}|{act.agent_id}")
                elif r < 0.92:
                    at(act.at + rng.uniform(0.5, 3.0), "decline", f"{act.call_id}|{act.agent_id}")
                # else: the ring timeout fires
            elif isinstance(act, a.PauseAgent):
                at(act.at + rng.uniform(5, 30), "resume", act.agent_id)

    def send(ev: a.Event) -> None:
        nonlocal events
        try:
            react(acd.handle(ev))
        except a.AcdError:
            return  # a stale world event (the call or offer has moved on)
        events += 1

    while events < budget and heap:
        when, _, kind, ref = heapq.heappop(heap)
        due = acd.next_deadline()
        while due is not None and due <= when:
            react(acd.advance(due))
            events += 1
            due = acd.next_deadline()
        if kind == "arrive":
            cid = f"c{calls}"
            calls += 1
            q = f"q{rng.randrange(6)}"
            ch = a.Channel.CHAT if rng.random() < 0.3 else a.Channel.VOICE
            send(
                a.CallArrived(
                    now=when, call_id=cid, queue=q, channel=ch, priority=rng.randint(0, 2)
                )
            )
            at(when + rng.expovariate(1 / 90.0), "abandon", cid)
            at(when + rng.expovariate(rate), "arrive", "")
        elif kind == "abandon":
            view = call_view(ref)
            if view is not None and view.state is not a.CallState.CONNECTED:
                send(a.CallAbandoned(now=when, call_id=ref))
        elif kind == "answer":
            cid, aid = ref.split("|")
            send(a.OfferAnswered(now=when, call_id=cid, agent_id=aid))
            at(when + rng.expovariate(1 / agents_busy_s), "end", cid)
        elif kind == "decline":
            cid, aid = ref.split("|")
            send(a.OfferDeclined(now=when, call_id=cid, agent_id=aid))
        elif kind == "end":
            call = call_view(ref)
            if call is not None and call.state is a.CallState.CONNECTED:
                if rng.random() < 0.03:
                    send(a.CallTransferred(now=when, call_id=ref, queue=f"q{rng.randrange(6)}"))
                else:
                    send(a.CallEnded(now=when, call_id=ref))
        elif kind == "resume":
            agent = acd.agent(ref)
            if agent.state is not a.AgentState.LOGGED_OUT and agent.paused_reason is not None:
                send(a.AgentResumed(now=when, agent_id=ref))
        elif kind == "login":
            send(a.AgentLoggedIn(now=when, profile=profiles[int(ref[1:])]))
            at(when + rng.uniform(600, 3600), "logout", ref)
        elif kind == "logout":
            agent = acd.agent(ref)
            if agent.state is not a.AgentState.LOGGED_OUT and not agent.pending_logout:
                if rng.random() < 0.5:
                    send(a.AgentPaused(now=when, agent_id=ref, reason="break"))
                    at(when + rng.uniform(60, 300), "resume", ref)
                else:
                    send(a.AgentLoggedOut(now=when, agent_id=ref))
                    at(when + rng.uniform(30, 300), "login", ref)
            else:
                at(when + 60.0, "logout", ref)
        if events // every > len(samples) - 1 or not samples:
            samples.append((events, rss_bytes(), acd.counts()["waiting"]))
    wall = time.perf_counter() - t0
    samples.append((events, rss_bytes(), acd.counts()["waiting"]))
    acd.check()
    counts = acd.counts()
    print(f"backend {acd.backend}: {events:,} events in {wall:.0f} s ({events / wall:,.0f}/s)")
    print(f"calls arrived {counts['arrived']:,}; outcomes {counts}")
    print(f"{'events':>12} {'RSS MiB':>9} {'waiting':>8}")
    for n, rss, waiting in samples:
        print(f"{n:>12,} {rss / 2**20:>9.1f} {waiting:>8,}")
    warm = samples[min(2, len(samples) - 1)]
    growth = samples[-1][1] - warm[1]
    print(
        f"growth after warm-up ({warm[0]:,} events): {growth / 2**20:+.2f} MiB "
        f"over {samples[-1][0] - warm[0]:,} events"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
