"""Plan benchmark: the cost of routing with a 5-step relaxation plan versus no plan.

Run from the repository root::

    PYTHONPATH=src python benchmarks/plans.py
    PYTHONPATH=src python benchmarks/plans.py --agents 2000 --calls 20000 --rounds 3 --seed 7
    PYTHONPATH=src python benchmarks/plans.py --clock wall --steps 3 --no-control

Every mode runs in this process on the same world and the same arrival stream (all
randomness comes from ``random.Random(--seed)``):

- the same queues (each needs its primary skill >= 6 and its secondary skill >= 4) and the
  same agents (skills at proficiency 1..10, 2-4 queues each), all logged in at t=0;
- the same calls: Poisson arrivals over the queues with uneven weights, each with its own
  answer delay (1.5-6 s after the offer), talk time (lognormal, mean 150 s) and patience
  (exponential, mean 150 s: a caller still waiting or ringing then hangs up).

The modes:

- ``no plan``: ``Distributor(queues)``; a call keeps its queue's requirement until it is
  answered or abandoned;
- ``rules only`` (the control; ``--no-control`` drops it): a plan with one rule per queue
  (``intent == queue name``, so deciding a call tries half the rules on average) and no
  steps. It routes exactly like ``no plan``, so the difference is the cost of deciding;
- ``plan, 5 steps``: the same rules, each with five relaxation steps timed from arrival:
  the queue's requirement until 15 s, primary >= 4 and secondary >= 2 until 30 s,
  primary >= 3 until 45 s, plus the next queue's agents until 60 s, primary >= 1 plus the
  next two queues' agents until 90 s, then any agent of those three queues. It answers more
  calls, so the events after the arrivals (answers, ends, abandons) differ from the others.

Every ``Distributor.advance`` and ``Distributor.handle`` call is timed alone once
``--warmup`` calls have arrived, with ``time.thread_time_ns`` (``--clock cpu``, the
default: the thread's CPU time, which a busy machine's preemptions do not inflate) or
``time.perf_counter_ns`` (``--clock wall``); the median cost of an empty reading is
subtracted. The driver fires deadlines one by one (``advance(next_deadline())``) before each
event, then calls ``advance(t)`` and ``handle(event)``. A deadline at one of the stage
instants the driver computed for an arrived call (arrival + 15/30/45/60/90 s) counts as a
stage deadline. Each of ``--rounds`` rounds runs every mode once, in a rotated order, and
the table gives the median over the rounds.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import acdcore
from acdcore import (
    AgentLoggedIn,
    AgentProfile,
    CallAbandoned,
    CallArrived,
    CallEnded,
    CancelOffer,
    Distributor,
    Offer,
    OfferAnswered,
    QueueConfig,
    QueueMembership,
    RoutingPlan,
    Rule,
    Step,
)
from acdcore.conditions import Equals

STEP_ENDS = (15.0, 30.0, 45.0, 60.0, 90.0)
CLOCKS = {"cpu": time.thread_time_ns, "wall": time.perf_counter_ns}


def clock_overhead(clock: Any) -> int:
    """The median reading of an empty interval: subtracted from every sample."""
    samples = []
    for _ in range(20000):
        t0 = clock()
        samples.append(clock() - t0)
    return int(statistics.median(samples))


@dataclass
class World:
    """Queues, agents and the arrival stream, shared by all the modes."""

    queues: list[QueueConfig]
    primary: list[str]
    secondary: list[str]
    agents: list[AgentProfile]
    # (arrival instant, call id, queue index, answer delay, talk time, patience)
    calls: list[tuple[float, str, int, float, float, float]]
    rate: float


def build_world(args: argparse.Namespace) -> World:
    rng = random.Random(args.seed)
    skills = [f"s{i:02d}" for i in range(args.skills)]
    nq = args.queues
    if args.skills < 2 * nq:
        raise SystemExit("--skills must be at least twice --queues (a primary and a secondary)")
    primary = [skills[k] for k in range(nq)]
    secondary = [skills[nq + k] for k in range(nq)]
    noise = skills[2 * nq :] or skills
    queues = [
        QueueConfig(
            f"q{k:02d}",
            requirement={primary[k]: 6, secondary[k]: 4},
            ring_timeout=15.0,
            wrap_up=5.0,
        )
        for k in range(nq)
    ]
    weights = [1.0 / math.sqrt(k + 1) for k in range(nq)]
    agents = []
    for i in range(args.agents):
        served: list[int] = []
        wanted = min(nq, rng.randint(2, 4))
        while len(served) < wanted:
            k = rng.choices(range(nq), weights)[0]
            if k not in served:
                served.append(k)
        levels: dict[str, int] = {}
        for k in served:
            levels[primary[k]] = rng.randint(1, 10)
            levels[secondary[k]] = rng.randint(1, 10)
        for s in rng.sample(noise, min(len(noise), rng.randint(1, 3))):
            levels.setdefault(s, rng.randint(1, 10))
        memberships = {
            f"q{k:02d}": QueueMembership(priority=1 if j == 0 else 2) for j, k in enumerate(served)
        }
        agents.append(AgentProfile(f"a{i:05d}", skills=levels, queues=memberships))
    talk_mean, sigma = 150.0, 0.6
    mu = math.log(talk_mean) - sigma * sigma / 2
    handle_mean = 3.75 + talk_mean + 5.0  # answer delay + talk + wrap-up
    rate = args.load * args.agents / handle_mean
    calls = []
    t = 1.0
    for n in range(args.calls):
        t += rng.expovariate(rate)
        k = rng.choices(range(nq), weights)[0]
        calls.append(
            (
                t,
                f"c{n:07d}",
                k,
                rng.uniform(1.5, 6.0),
                rng.lognormvariate(mu, sigma),
                rng.expovariate(1 / 150.0),
            )
        )
    return World(queues, primary, secondary, agents, calls, rate)


def build_plan(world: World, steps: int) -> RoutingPlan:
    """One rule per queue (``intent == name``), each with ``steps`` relaxation steps."""
    nq = len(world.queues)
    rules = []
    for k in range(nq):
        p, s = world.primary[k], world.secondary[k]
        nxt, nxt2 = f"q{(k + 1) % nq:02d}", f"q{(k + 2) % nq:02d}"
        ladder = [
            Step(expires_after=STEP_ENDS[0]),
            Step(requirement={p: 4, s: 2}, expires_after=STEP_ENDS[1]),
            Step(requirement={p: 3}, expires_after=STEP_ENDS[2]),
            Step(requirement={p: 3}, add_queues=(nxt,), expires_after=STEP_ENDS[3]),
            Step(requirement={p: 1}, add_queues=(nxt, nxt2), expires_after=STEP_ENDS[4]),
        ][:steps]
        name = f"q{k:02d}"
        rules.append(Rule(name, when=Equals("intent", name), queue=name, steps=tuple(ladder)))
    return RoutingPlan(rules=tuple(rules), default=Rule("default", queue="q00"))


@dataclass
class Stats:
    arrive_ns: list[int] = field(default_factory=list)
    stage_ns: list[int] = field(default_factory=list)
    stage_offers: int = 0
    stage_connected: int = 0
    other_deadline_ns: list[int] = field(default_factory=list)
    advance_t_ns: list[int] = field(default_factory=list)
    handle_ns: list[int] = field(default_factory=list)
    arrivals: int = 0


class Driver:
    """Drives one distributor through the arrival stream, one step (one deadline, or
    one event) at a time, and times the measured part."""

    ARRIVE, ANSWER, END, ABANDON = 0, 1, 2, 3

    def __init__(
        self, world: World, plan: RoutingPlan | None, plan_steps: int, args: argparse.Namespace
    ) -> None:
        self.acd = Distributor(world.queues, plan=plan, rng=random.Random(args.seed))
        for profile in world.agents:
            self.acd.handle(AgentLoggedIn(now=0.0, profile=profile))
        self.args = args
        self.plan = plan
        self.world = world
        self.plan_steps = plan_steps if plan is not None else 0
        self.calls = {c[1]: c for c in world.calls}
        self.last_call = world.calls[-1][1]
        # What each live call is doing, per the returned actions.
        self.ringing: dict[str, str] = {}  # call -> agent ringing
        self.connected: set[str] = set()
        self.live: set[str] = set()
        self.stage_at: dict[float, str] = {}  # stage instant -> call
        # Future events: (t, seq, kind, call, agent).
        self.heap = [(c[0], n, self.ARRIVE, c[1], "") for n, c in enumerate(world.calls)]
        heapq.heapify(self.heap)
        self.seq = len(self.heap)
        self.st = Stats()
        self.measuring = False
        self.arrived = self.handled = 0
        self.outcomes = {"arrived": 0, "answered": 0, "abandoned": 0}
        self.clock = CLOCKS[args.clock]
        self.bias = clock_overhead(self.clock)
        self.done = False

    def push(self, t: float, kind: int, cid: str, aid: str = "") -> None:
        heapq.heappush(self.heap, (t, self.seq, kind, cid, aid))
        self.seq += 1

    def react(self, actions: list[Any]) -> int:
        offered = 0
        for a in actions:
            if isinstance(a, Offer):
                offered += 1
                self.ringing[a.call_id] = a.agent_id
                self.push(a.at + self.calls[a.call_id][3], self.ANSWER, a.call_id, a.agent_id)
            elif isinstance(a, CancelOffer) and self.ringing.get(a.call_id) == a.agent_id:
                del self.ringing[a.call_id]
        return offered

    def step(self) -> None:
        """Fire the next deadline, or apply the next event (skipping stale ones)."""
        acd, st, clock = self.acd, self.st, self.clock
        due = acd.next_deadline()
        if due is not None and due <= self.heap[0][0]:
            t0 = clock()
            actions = acd.advance(due)
            dt = max(0, clock() - t0 - self.bias)
            offered = self.react(actions)
            if self.measuring:
                owner = self.stage_at.get(due)
                if owner is not None:
                    st.stage_ns.append(dt)
                    st.stage_offers += offered > 0
                    st.stage_connected += owner in self.connected
                else:
                    st.other_deadline_ns.append(dt)
            return
        t, _, kind, cid, aid = heapq.heappop(self.heap)
        c = self.calls[cid]
        if kind == self.ARRIVE:
            q = f"q{c[2]:02d}"
            ev: Any = CallArrived(now=t, call_id=cid, queue=q, attributes={"intent": q})
            self.arrived += 1
            if self.arrived == self.args.warmup + 1:
                self.measuring = True
        elif kind == self.ANSWER:
            if self.ringing.get(cid) != aid:
                return  # the offer was cancelled meanwhile
            ev = OfferAnswered(now=t, call_id=cid, agent_id=aid)
        elif kind == self.END:
            ev = CallEnded(now=t, call_id=cid)
        else:
            if cid not in self.live or cid in self.connected:
                return  # answered (or gone) before the caller ran out of patience
            ev = CallAbandoned(now=t, call_id=cid)
        t0 = clock()
        actions = acd.advance(t)
        t1 = clock()
        actions += acd.handle(ev)
        t2 = clock()
        measuring = self.measuring
        if measuring:
            st.advance_t_ns.append(max(0, t1 - t0 - self.bias))
            st.handle_ns.append(max(0, t2 - t1 - self.bias))
        if kind == self.ARRIVE:
            self.live.add(cid)
            self.push(t + c[5], self.ABANDON, cid)
            self.stage_at.update((t + s, cid) for s in STEP_ENDS[: self.plan_steps])
            if measuring:
                st.arrive_ns.append(max(0, t2 - t1 - self.bias))
                st.arrivals += 1
                self.outcomes["arrived"] += 1
            self.done = cid == self.last_call  # stop with the stream, before it drains
        elif kind == self.ANSWER:
            del self.ringing[cid]
            self.connected.add(cid)
            self.push(t + c[4], self.END, cid)
            self.outcomes["answered"] += measuring
        elif kind == self.END:
            self.connected.discard(cid)
            self.live.discard(cid)
        else:
            self.ringing.pop(cid, None)
            self.live.discard(cid)
            self.outcomes["abandoned"] += measuring
        self.react(actions)
        self.handled += 1
        if self.args.check and self.handled % self.args.check == 0:
            acd.check()

    def result(self, wall: float) -> dict[str, Any]:
        st = self.st
        api = st.handle_ns + st.advance_t_ns + st.other_deadline_ns + st.stage_ns
        total = sum(api) / 1e9
        return {
            "arrive": summary(st.arrive_ns),
            "stage": summary(st.stage_ns),
            "stage_with_offer": st.stage_offers,
            "stage_connected": st.stage_connected,
            "other_deadline": summary(st.other_deadline_ns),
            "handle": summary(st.handle_ns),
            "events": len(api),
            "events_per_s": len(api) / total if total else math.nan,
            "api_us_per_arrival": total * 1e6 / max(1, st.arrivals),
            "outcomes": self.outcomes,
            "waiting_end": self.acd.counts()["waiting"],
            "wall_s": wall,
            "decide_us": decide_cost(self.plan, self.world) / 1000,
            "clock_overhead_ns": self.bias,
        }


def decide_cost(plan: RoutingPlan | None, world: World) -> float:
    """Nanoseconds per ``plan.decide`` over the stream's attributes (best of 3 passes)."""
    if plan is None:
        return math.nan
    attrs = [{"intent": f"q{c[2]:02d}"} for c in world.calls]
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter_ns()
        for a in attrs:
            plan.decide(a, 0.0)
        best = min(best, (time.perf_counter_ns() - t0) / len(attrs))
    return best


def run_round(
    world: World, modes: list[tuple[str, RoutingPlan | None, int]], args: argparse.Namespace
) -> dict[str, dict[str, Any]]:
    """Run every mode on the same stream, one after the other, in the given order."""
    out = {}
    for name, plan, steps in modes:
        print(f"  {name}...", file=sys.stderr, flush=True)
        driver = Driver(world, plan, steps, args)
        gc.collect()
        w0 = time.perf_counter()
        while not driver.done:
            driver.step()
        out[name] = driver.result(time.perf_counter() - w0)
        del driver
        gc.collect()
    return out


def summary(ns: list[int]) -> dict[str, float]:
    if not ns:
        return {"count": 0, "mean": math.nan, "p50": math.nan, "p99": math.nan, "total_s": 0.0}
    s = sorted(ns)
    return {
        "count": len(s),
        "mean": statistics.fmean(s) / 1000,
        "p50": s[len(s) // 2] / 1000,
        "p99": s[min(len(s) - 1, int(len(s) * 0.99))] / 1000,
        "total_s": sum(s) / 1e9,
    }


def table(rows: list[tuple[str, dict[str, Any]]]) -> str:
    """One column per mode, then one ratio column per mode against the first."""
    ref_name = rows[0][0]
    heads = ["metric", *(name for name, _ in rows)]
    heads += [f"{name} / {ref_name}" for name, _ in rows[1:]]

    def num(x: float, digits: int) -> str:
        return "-" if x != x else f"{x:,.{digits}f}"

    metrics: list[tuple[str, Any, int, bool]] = [  # label, getter, digits, show ratio
        ("CallArrived handle p50 (us)", lambda r: r["arrive"]["p50"], 1, True),
        ("CallArrived handle p99 (us)", lambda r: r["arrive"]["p99"], 1, True),
        ("CallArrived handle mean (us)", lambda r: r["arrive"]["mean"], 1, True),
        ("  plan.decide() alone, mean (us)", lambda r: r["decide_us"], 1, False),
        ("stage deadlines (advance calls)", lambda r: r["stage"]["count"], 0, False),
        ("  of which for connected calls", lambda r: r["stage_connected"], 0, False),
        ("  of which led to an offer", lambda r: r["stage_with_offer"], 0, False),
        ("stage advance p50 (us)", lambda r: r["stage"]["p50"], 1, False),
        ("stage advance p99 (us)", lambda r: r["stage"]["p99"], 1, False),
        ("stage advance mean (us)", lambda r: r["stage"]["mean"], 1, False),
        ("other deadline advance mean (us)", lambda r: r["other_deadline"]["mean"], 1, True),
        ("handle mean, all events (us)", lambda r: r["handle"]["mean"], 1, True),
        ("events (advance + handle calls)", lambda r: r["events"], 0, True),
        ("events/s", lambda r: r["events_per_s"], 0, True),
        ("API time per arrival (us)", lambda r: r["api_us_per_arrival"], 1, True),
        ("answered / arrived (%)", answered_pct, 1, False),
        ("abandoned / arrived (%)", abandoned_pct, 1, False),
    ]
    lines = []
    for label, get, digits, ratio in metrics:
        vals = [float(get(r)) for _, r in rows]
        cells = [label, *(num(v, digits) for v in vals)]
        for v in vals[1:]:
            ok = ratio and vals[0] == vals[0] and v == v and vals[0] != 0
            cells.append(f"{v / vals[0]:.2f}x" if ok else "")
        lines.append(cells)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(heads)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for cells in lines:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        out.append("| " + " | ".join(padded) + " |")
    return "\n".join(out)


def combine(runs: list[dict[str, Any]], how: Any) -> dict[str, Any]:
    """Combine several runs' results (nested dicts of numbers) key by key with ``how``."""
    out: dict[str, Any] = {}
    for key, first in runs[0].items():
        if isinstance(first, dict):
            out[key] = combine([run[key] for run in runs], how)
        else:
            out[key] = how([run[key] for run in runs])
    return out


def answered_pct(r: dict[str, Any]) -> float:
    o = r["outcomes"]
    return 100.0 * float(o["answered"]) / max(1.0, float(o["arrived"]))


def abandoned_pct(r: dict[str, Any]) -> float:
    o = r["outcomes"]
    return 100.0 * float(o["abandoned"]) / max(1.0, float(o["arrived"]))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--skills", type=int, default=50)
    p.add_argument("--queues", type=int, default=20)
    p.add_argument("--calls", type=int, default=8000, help="arrivals in the stream")
    p.add_argument("--warmup", type=int, default=1500, help="arrivals before measuring")
    p.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="rounds; each runs every mode once, in a rotated order; "
        "the medians over the rounds are reported",
    )
    p.add_argument("--load", type=float, default=1.0, help="arrival rate x mean handle / agents")
    p.add_argument("--steps", type=int, default=5, choices=range(6), help="relaxation steps")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="cpu",
        help="time each call with thread_time_ns (cpu: this thread's CPU time, immune to "
        "preemption on a busy machine) or perf_counter_ns (wall); the median cost of an "
        "empty reading is subtracted from every sample",
    )
    p.add_argument(
        "--no-control", action="store_true", help="skip the rules-only (0 steps) control run"
    )
    p.add_argument("--check", type=int, default=0, help="check() every N events (slow)")
    p.add_argument("--json", help="also write the raw results to this file")
    args = p.parse_args(argv)
    if args.warmup >= args.calls:
        raise SystemExit("--warmup must be below --calls")

    world = build_world(args)
    modes: list[tuple[str, RoutingPlan | None, int]] = [("no plan", None, 0)]
    if args.steps > 0 and not args.no_control:
        modes.append(("rules only", build_plan(world, 0), 0))
    modes.append((f"plan, {args.steps} steps", build_plan(world, args.steps), args.steps))
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _, _ in modes}
    for rnd in range(args.rounds):
        # Rotate the order from round to round, so that each mode runs first in turn.
        order = modes[rnd % len(modes) :] + modes[: rnd % len(modes)]
        print(f"round {rnd + 1}/{args.rounds}...", file=sys.stderr, flush=True)
        for name, res in run_round(world, order, args).items():
            results[name].append(res)
    rows = [(name, combine(results[name], statistics.median)) for name, _, _ in modes]
    print(table(rows))
    print()
    for name, r in rows:
        print(
            f"{name}: waiting at end {r['waiting_end']:,.0f}; "
            f"driver wall {r['wall_s']:.1f} s a run (median of {args.rounds})"
        )
    bias = rows[0][1]["clock_overhead_ns"]
    print(
        f"\n{args.agents:,} agents, {args.skills} skills, {args.queues} queues, "
        f"{args.calls:,} arrivals ({args.warmup:,} warm-up, not measured) at "
        f"{world.rate:.2f} calls/s (load {args.load}), seed {args.seed}, "
        f"{args.rounds} round(s); {args.clock} clock (empty reading {bias:.0f} ns, subtracted); "
        f"Python {sys.version.split()[0]}, acdcore from {acdcore.__file__}"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({name: r for name, r in rows}, fh, indent=1)


if __name__ == "__main__":
    main()
