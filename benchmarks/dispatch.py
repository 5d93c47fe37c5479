"""Dispatch benchmark: drive acdcore's public API the way a PBX adapter or a simulator does.

Run from the repository root::

    PYTHONPATH=src python benchmarks/dispatch.py                      # everything, both backends
    PYTHONPATH=src python benchmarks/dispatch.py --scenario large --events 300000
    PYTHONPATH=src python benchmarks/dispatch.py --scenario scaling --scale-events 100000
    PYTHONPATH=src python benchmarks/dispatch.py --scenario large --backend native --profile /tmp/p

Scenarios: ``small``, ``large``, ``backlog`` (large with about 100,000 calls waiting
throughout), ``scale-1k``/``scale-10k``/``scale-100k`` (large's contact centre at
1,000/10,000/100,000 agents; the group ``scaling`` runs the three) and ``small-plan``
(small routed through a routing plan with relaxation steps). ``all`` runs every one.
``--estimators`` attaches a ``LearnedEstimator`` to every distributor, as the network
service does (the estimator hears every queue's samples and every call's entry, start,
answer and end; its learned state is part of the action digest's run, not of the digest).
``--announce`` gives every queue announcements (the first after 30 s, then every 60 s) and
callback offers over 2 minutes, with the default estimator; the simulated callers never
accept one, and the announcements and offers are folded into the digest.

Each (scenario, backend) pair runs in its own child process: the backend is chosen at
import time (``ACDCORE_BACKEND``) and peak RSS (``ru_maxrss``) is per process, so a
child per cell keeps both honest. Both backends run by default (python, then native; a
backend that is not built is skipped); the table then has a native/python column, and the
run fails if the two backends' action digests differ (they must decide the same).

What one run does (all randomness comes from ``random.Random`` seeded with ``--seed``):

1. Build the scenario: queues (strategies and priority policies mixed), agents with
   skills at proficiency 1..10 serving several queues (some memberships at a lower
   priority or with an overflow delay), a pool of per-call skill requirements per queue.
2. Warm up (not measured): agents log in over ``login_spread`` s while Poisson arrivals run;
   the simulation then runs ``warmup`` simulated seconds to reach a steady state.
3. Measure ``--events`` API calls: every ``Distributor.advance`` and ``Distributor.handle``
   call counts as one event and is timed alone with ``time.perf_counter_ns``. The driver
   keeps its own future-event heap (answer at offer + ring delay, end at answer + handle
   time, abandon at arrival + patience, pauses, resumes, logouts, logins), and before
   every event it advances to ``min(next_deadline(), next event time)``: to a due deadline
   first (one ``advance`` call), otherwise ``advance(t)`` then ``handle(event)``. Building
   event objects, reacting to actions and ``next_deadline()`` calls are driver work and
   are not in the per-event times (``next_deadline`` is timed separately).

The driver tracks every call and offer from the returned actions and never sends an event
that the distributor would refuse (stale answers, abandons of connected calls... are
dropped); an ``AcdError`` from the distributor is a driver bug and aborts the run.
``--check N`` runs ``Distributor.check()`` and a driver-vs-distributor consistency check
every N events (slow; for validating the driver, not for timing).
"""

from __future__ import annotations

import argparse
import array
import gc
import hashlib
import heapq
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

# Backends measured by default, first one is the reference for the ratio column. A backend
# that is not built in this checkout (native without a C compiler) is skipped, not faked.
BACKENDS: tuple[str, ...] = ("python", "native")
UNAVAILABLE = 3  # exit status of a worker whose backend is not available


@dataclass(frozen=True)
class Scenario:
    """A synthetic contact centre. Times are in simulated seconds."""

    name: str
    agents: int
    skills: int
    queues: int
    queues_per_agent: tuple[int, int]  # each agent serves randint(*) queues
    core_skills: int  # skills that define a queue; calls need some of them
    skills_per_call: tuple[int, int]  # each call needs randint(*) of its queue's skills
    load: float  # offered load / nominal capacity of the logged-in, unpaused agents
    events: int  # default number of measured events (advance + handle calls)
    login_spread: float  # agents log in over this many seconds while calls already arrive
    warmup: float  # simulated seconds of traffic after the logins, before measuring
    handle_mean: float  # mean talk time (lognormal)
    wrap_up: float  # queue wrap-up time
    patience_mean: float  # mean caller patience (exponential)
    ring_all_queue: bool  # make one queue ring-all
    capped_queue: int | None  # max_length of one queue (exercises Reject)
    backlog: int = 0  # calls that arrive over BACKLOG_LEAD s before the first login
    plan: bool = False  # route every call through a routing plan (see plan_of)
    estimators: bool = False  # attach a LearnedEstimator, as the service does (--estimators)
    announce: bool = False  # every queue announces and offers callbacks (--announce)


SCENARIOS: dict[str, Scenario] = {
    "small": Scenario(
        name="small",
        agents=100,
        skills=10,
        queues=5,
        queues_per_agent=(2, 4),
        core_skills=3,
        skills_per_call=(1, 3),
        load=1.20,
        events=500_000,
        login_spread=60.0,
        warmup=1_800.0,
        handle_mean=180.0,
        wrap_up=10.0,
        patience_mean=120.0,
        ring_all_queue=True,
        capped_queue=4,
    ),
    "large": Scenario(
        name="large",
        agents=10_000,
        skills=200,
        queues=100,
        queues_per_agent=(10, 20),
        core_skills=3,
        skills_per_call=(1, 3),
        load=1.20,
        events=1_000_000,
        login_spread=300.0,
        warmup=600.0,
        handle_mean=180.0,
        wrap_up=10.0,
        patience_mean=180.0,
        ring_all_queue=False,
        capped_queue=None,
    ),
}

# Scaling: the large scenario's contact centre with every parameter kept but the number
# of agents (the arrival rate follows the agents, so the load stays 1.2 and the queues stay
# overloaded). The warm-up after the logins is shorter than large's, the same for the
# three cells: its cost grows with the agents (3.3 million API calls for large's 900
# simulated s at 100,000 agents). The logins keep large's spread: spread faster than calls
# arrive (at 100,000 agents, 527 calls/s), they leave thousands of agents free, and with the
# python backend every arrival then walks them.
SCALING_AGENTS = (1_000, 10_000, 100_000)
SCALING_EVENTS = 200_000  # measured events per scaling cell (override: --scale-events)
SCALING_LOGIN_SPREAD = 300.0
SCALING_WARMUP = 150.0
for _n in SCALING_AGENTS:
    _name = f"scale-{_n // 1000}k"
    SCENARIOS[_name] = replace(
        SCENARIOS["large"],
        name=_name,
        agents=_n,
        events=SCALING_EVENTS,
        login_spread=SCALING_LOGIN_SPREAD,
        warmup=SCALING_WARMUP,
    )
SCALING = tuple(f"scale-{n // 1000}k" for n in SCALING_AGENTS)
# The small scenario routed through a routing plan: a rule per queue that keeps the call's
# requirement for PLAN_STEPS[0] s, then lets the next queue's agents take it too until
# PLAN_STEPS[1] s, then anyone of the two queues (plan_of).
SCENARIOS["small-plan"] = replace(SCENARIOS["small"], name="small-plan", plan=True)
PLAN_STEPS = (20.0, 60.0)
GROUPS: dict[str, tuple[str, ...]] = {
    "all": ("small", "large", "backlog", *SCALING, "small-plan"),
    "scaling": SCALING,
}

# Agent and caller behaviour, shared by every scenario.
P_ANSWER = 0.90  # an offer is answered after ANSWER_DELAY...
P_DECLINE = 0.05  # ...declined after DECLINE_DELAY, or else it rings out (ring timeout)
ANSWER_DELAY = (1.5, 8.0)
DECLINE_DELAY = (1.0, 5.0)
RING_TIMEOUT = 15.0
NO_ANSWER_DELAY = 5.0
HANDLE_SIGMA = 0.6  # lognormal shape of talk time
PAUSE_EVERY = 2_700.0  # each agent pauses on average this often...
PAUSE_FOR = (120.0, 600.0)  # ...for this long
AUTO_PAUSE_FOR = (30.0, 180.0)  # until an auto-paused agent resumes
LOGOUT_EVERY = 14_400.0  # each agent logs out on average this often...
LOGOUT_FOR = (60.0, 600.0)  # ...for this long
CALLERS = 50_000  # caller numbers are drawn from a pool this big (repeat callers)
P_PREFERRED = 0.02  # calls that name a preferred agent
REQUIREMENTS_PER_QUEUE = 64  # distinct skill requirements pre-built per queue
BACKLOG_LEAD = 60.0  # a scenario's backlog arrives over this many seconds before the logins

# Driver event kinds (heap entries are (time, seq, kind, a, b, token)).
ARRIVAL, ANSWER, DECLINE, END, ABANDON = 0, 1, 2, 3, 4
PAUSE_TICK, RESUME, LOGOUT_TICK, LOGIN, BACKLOG = 5, 6, 7, 8, 9

WAITING, RINGING, CONNECTED = 0, 1, 2


# ----------------------------------------------------------------------------- scenario


def build(scen: Scenario, seed: int, acd_mod: Any) -> dict[str, Any]:
    """Queue configs, agent profiles and per-queue requirement pools for ``scen``."""
    rng = random.Random(f"build:{seed}")
    a = acd_mod
    skills = [f"sk{i:03d}" for i in range(scen.skills)]
    qnames = [f"q{i:03d}" for i in range(scen.queues)]
    strategies = [
        a.Strategy.LONGEST_IDLE,
        a.Strategy.MOST_SKILLED,
        a.Strategy.FEWEST_CALLS,
        a.Strategy.ROUND_ROBIN,
        a.Strategy.LONGEST_IDLE,
        a.Strategy.LEAST_TALK_TIME,
        a.Strategy.RANDOM,
        a.Strategy.LONGEST_IDLE,
        a.Strategy.WEIGHTED_RANDOM,
        a.Strategy.LINEAR,
    ]
    policies = [
        a.FIFO(),
        a.PriorityClasses(),
        a.AccumulatingPriority(60.0),
        a.EmergencyFirst(a.FIFO()),
        a.FIFO(),
        a.EmergencyFirst(a.PriorityClasses()),
    ]
    configs = []
    core: dict[str, list[str]] = {}
    for i, name in enumerate(qnames):
        strategy = strategies[i % len(strategies)]
        if scen.ring_all_queue and i == len(qnames) - 1:
            strategy = a.Strategy.RING_ALL
        max_length = scen.capped_queue if scen.capped_queue is not None and i == 1 else None
        configs.append(
            a.QueueConfig(
                name,
                policy=policies[i % len(policies)],
                strategy=strategy,
                ring_timeout=RING_TIMEOUT,
                wrap_up=scen.wrap_up,
                no_answer=a.NoAnswerPolicy(delay=NO_ANSWER_DELAY, auto_pause_after=3),
                max_length=max_length,
                announce=a.Announcements(every=60.0, first=30.0) if scen.announce else None,
                callback=a.CallbackPolicy(threshold=120.0) if scen.announce else None,
            )
        )
        core[name] = rng.sample(skills, scen.core_skills)

    profiles = []
    members: dict[str, list[str]] = {q: [] for q in qnames}
    lo, hi = scen.queues_per_agent
    for n in range(scen.agents):
        aid = f"a{n:05d}"
        served = rng.sample(qnames, min(rng.randint(lo, hi), len(qnames)))
        levels: dict[str, int] = {}
        memberships = {}
        for q in served:
            for sk in core[q]:
                if rng.random() < 0.8:
                    levels[sk] = max(levels.get(sk, 0), rng.randint(1, 10))
            r = rng.random()
            priority = 1 if r < 0.6 else (2 if r < 0.9 else 3)
            delay = rng.uniform(10.0, 30.0) if rng.random() < 0.15 else 0.0
            memberships[q] = a.QueueMembership(
                priority=priority,
                delay=delay,
                position=rng.randrange(1000),
                weight=rng.randint(1, 5),
            )
            members[q].append(aid)
        for sk in rng.sample(skills, min(3, len(skills))):
            levels.setdefault(sk, rng.randint(1, 10))
        profiles.append(a.AgentProfile(aid, skills=levels, queues=memberships))

    requirements: dict[str, list[Any]] = {}
    for q in qnames:
        pool = []
        for _ in range(REQUIREMENTS_PER_QUEUE):
            k = min(rng.randint(*scen.skills_per_call), len(core[q]))
            pool.append(
                a.SkillRequirement({sk: rng.randint(1, 6) for sk in rng.sample(core[q], k)})
            )
        requirements[q] = pool
    weights = [rng.uniform(1.0, 3.0) for _ in qnames]
    total = sum(weights)
    cum, acc = [], 0.0
    for w in weights:
        acc += w / total
        cum.append(acc)
    return {
        "queues": configs,
        "profiles": profiles,
        "members": members,
        "requirements": requirements,
        "queue_names": qnames,
        "queue_cum_weights": cum,
        "plan": plan_of(qnames, a) if scen.plan else None,
    }


def plan_of(qnames: list[str], acd_mod: Any) -> Any:
    """The routing plan of a scenario with ``plan``: a rule per queue, chosen by the
    call's ``dest`` attribute (the queue it asks for), with relaxation steps that keep
    the call's requirement, then add the next queue, then drop the requirement."""
    a = acd_mod
    rules = []
    for i, q in enumerate(qnames):
        neighbour = qnames[(i + 1) % len(qnames)]
        steps = (
            a.Step(expires_after=PLAN_STEPS[0]),
            a.Step(add_queues=(neighbour,), expires_after=PLAN_STEPS[1]),
        )
        rules.append(a.Rule(f"to-{q}", when=a.Equals("dest", q), queue=q, steps=steps))
    return a.RoutingPlan(rules=tuple(rules), default=a.Rule("default", queue=qnames[0]))


def arrival_rate(scen: Scenario) -> float:
    """Calls per second that make the offered load ``scen.load`` x nominal capacity."""
    answer = sum(ANSWER_DELAY) / 2
    miss = P_DECLINE * (sum(DECLINE_DELAY) / 2 + NO_ANSWER_DELAY) + (1 - P_ANSWER - P_DECLINE) * (
        RING_TIMEOUT + NO_ANSWER_DELAY
    )
    cycle = answer + miss + scen.handle_mean + scen.wrap_up
    pause = sum(PAUSE_FOR) / 2
    logout = sum(LOGOUT_FOR) / 2
    available = PAUSE_EVERY / (PAUSE_EVERY + pause) * LOGOUT_EVERY / (LOGOUT_EVERY + logout)
    return scen.load * scen.agents * available / cycle


def lead_time(scen: Scenario) -> float:
    """Simulated seconds before the first login: the backlog arrives in them."""
    return BACKLOG_LEAD if scen.backlog else 0.0


def backlog_scenario(calls: int, events: int) -> Scenario:
    """The large scenario overloaded so that about ``calls`` calls wait throughout.

    ``calls`` arrive before the first login; callers are patient enough (exponential,
    mean ``calls`` / the excess of arrivals over capacity) that abandonment balances the
    excess arrivals at about that many waiting calls, so the backlog neither drains nor
    grows during the run.
    """
    large = SCENARIOS["large"]
    excess = arrival_rate(large) * (1.0 - 1.0 / large.load)
    return replace(
        large, name="backlog", backlog=calls, patience_mean=round(calls / excess, -2), events=events
    )


SCENARIOS["backlog"] = backlog_scenario(100_000, 300_000)


# ----------------------------------------------------------------------------- driver


class AcdDriverError(RuntimeError):
    """The driver sent an event the distributor refused: a bug in this benchmark."""


class Agent:
    __slots__ = ("connected", "logged_in", "pause_token", "paused", "pending_logout", "profile")

    def __init__(self, profile: Any) -> None:
        self.profile = profile
        self.logged_in = False
        self.pending_logout = False
        self.paused = False
        self.pause_token = 0
        self.connected: set[str] = set()


class Call:
    __slots__ = ("agent", "state")

    def __init__(self) -> None:
        self.state = WAITING
        self.agent: str | None = None


class Driver:
    """A simulated PBX: turns the distributor's actions into future events."""

    def __init__(self, scen: Scenario, seed: int, acd_mod: Any, world: dict[str, Any]) -> None:
        a = acd_mod
        self.mod = a
        self.scen = scen
        self.rng = random.Random(f"sim:{seed}")
        self.acd = a.Distributor(
            world["queues"],
            rng=random.Random(f"acd:{seed}"),
            backend=a.BACKEND,
            plan=world["plan"],
            estimators=[a.LearnedEstimator()] if scen.estimators else None,
        )
        self.world = world
        self.agents = {p.agent_id: Agent(p) for p in world["profiles"]}
        self.agent_ids = list(self.agents)
        self.calls: dict[str, Call] = {}
        self.offers: dict[tuple[str, str], int] = {}
        self.heap: list[tuple[float, int, int, str, str, int]] = []
        self.seq = 0
        self.token = 0
        self.next_call = 0
        self.rate = arrival_rate(scen)
        self.handle_mu = math.log(scen.handle_mean) - HANDLE_SIGMA**2 / 2
        self.digest = hashlib.blake2b(digest_size=12)
        self.reset_stats()

    def reset_stats(self) -> None:
        """Start a new phase: forget samples (ns per API call) and counters."""
        self.adv_deadline_ns = array.array("q")  # advance(next_deadline) calls
        self.adv_event_ns = array.array("q")  # advance(t) right before handle(event at t)
        self.hdl_ns: dict[str, array.array[int]] = {}  # handle(event) by event type
        self.adv_fired = 0  # advance(deadline) calls that returned at least one action
        self.actions = 0
        self.nd_calls = 0
        self.nd_ns = 0

    # -- scheduling

    def at(self, when: float, kind: int, a: str = "", b: str = "", token: int = 0) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (when, self.seq, kind, a, b, token))

    def start(self) -> None:
        rng = self.rng
        lead = lead_time(self.scen)
        for _ in range(self.scen.backlog):
            self.at(rng.uniform(0.0, lead), BACKLOG)
        for aid in self.agent_ids:
            self.at(lead + rng.uniform(0.0, self.scen.login_spread), LOGIN, aid)
        self.at(rng.expovariate(self.rate), ARRIVAL)
        n = self.scen.agents
        self.at(rng.expovariate(n / PAUSE_EVERY), PAUSE_TICK)
        self.at(rng.expovariate(n / LOGOUT_EVERY), LOGOUT_TICK)

    # -- the adapter loop

    def run(self, until: float | None = None, ops: int | None = None, check: int = 0) -> int:
        """Process driver events until simulated time ``until`` or ``ops`` API calls."""
        heap = self.heap
        acd = self.acd
        advance = acd.advance
        handle = acd.handle
        next_deadline = acd.next_deadline
        pc = time.perf_counter_ns
        adv_deadline_ns = self.adv_deadline_ns
        adv_event_ns = self.adv_event_ns
        hdl_ns = self.hdl_ns
        prepare = self.prepare
        react = self.react
        done = 0
        next_check = check
        while ops is None or done < ops:
            t = heap[0][0]
            t0 = pc()
            d = next_deadline()
            t1 = pc()
            self.nd_calls += 1
            self.nd_ns += t1 - t0
            if d is not None and d <= t:
                if until is not None and d >= until:
                    break
                t0 = pc()
                acts = advance(d)
                t1 = pc()
                adv_deadline_ns.append(t1 - t0)
                done += 1
                if acts:
                    self.adv_fired += 1
                    react(acts)
            else:
                if until is not None and t >= until:
                    break
                item = heapq.heappop(heap)
                ev = prepare(item)
                if ev is None:
                    continue
                t0 = pc()
                acts = advance(t)
                t1 = pc()
                adv_event_ns.append(t1 - t0)
                if acts:  # cannot happen: nothing is due at or before t
                    raise AcdDriverError(f"advance({t}) fired deadlines after next_deadline()")
                try:
                    t0 = pc()
                    acts = handle(ev)
                    t1 = pc()
                except self.mod.AcdError as exc:
                    raise AcdDriverError(f"driver sent a refused event {ev!r}: {exc!r}") from exc
                name = type(ev).__name__
                samples = hdl_ns.get(name)
                if samples is None:
                    samples = hdl_ns[name] = array.array("q")
                samples.append(t1 - t0)
                done += 2
                react(acts)
                self.after(item, ev)
            if check and done >= next_check:
                next_check = done + check
                self.verify()
        return done

    def prepare(self, item: tuple[float, int, int, str, str, int]) -> Any:
        """The event for a due heap entry, or ``None`` when it went stale."""
        now, _, kind, a, b, token = item
        m = self.mod
        rng = self.rng
        if kind == ANSWER:
            if self.offers.get((a, b)) != token:
                return None
            return m.OfferAnswered(now=now, call_id=a, agent_id=b)
        if kind == END:
            call = self.calls.get(a)
            if call is None or call.state != CONNECTED:
                return None
            return m.CallEnded(now=now, call_id=a)
        if kind == ARRIVAL:
            self.at(now + rng.expovariate(self.rate), ARRIVAL)
            return self.new_call(now)
        if kind == BACKLOG:
            return self.new_call(now)
        if kind == ABANDON:
            call = self.calls.get(a)
            if call is None or call.state == CONNECTED:
                return None
            return m.CallAbandoned(now=now, call_id=a)
        if kind == DECLINE:
            if self.offers.get((a, b)) != token:
                return None
            return m.OfferDeclined(now=now, call_id=a, agent_id=b, reason="declined")
        if kind == PAUSE_TICK:
            self.at(now + rng.expovariate(self.scen.agents / PAUSE_EVERY), PAUSE_TICK)
            ag = self.agents[rng.choice(self.agent_ids)]
            if not ag.logged_in or ag.pending_logout or ag.paused:
                return None
            return m.AgentPaused(now=now, agent_id=ag.profile.agent_id, reason="break")
        if kind == RESUME:
            ag = self.agents[a]
            if not (ag.logged_in and ag.paused and ag.pause_token == token):
                return None
            return m.AgentResumed(now=now, agent_id=a)
        if kind == LOGOUT_TICK:
            self.at(now + rng.expovariate(self.scen.agents / LOGOUT_EVERY), LOGOUT_TICK)
            ag = self.agents[rng.choice(self.agent_ids)]
            if not ag.logged_in or ag.pending_logout:
                return None
            return m.AgentLoggedOut(now=now, agent_id=ag.profile.agent_id)
        if kind == LOGIN:
            ag = self.agents[a]
            if ag.logged_in:
                if ag.pending_logout:  # still on its last call: try again later
                    self.at(now + 30.0, LOGIN, a)
                return None
            return m.AgentLoggedIn(now=now, profile=ag.profile)
        raise AssertionError(f"unknown driver event kind {kind}")

    def new_call(self, now: float) -> Any:
        rng = self.rng
        w = self.world
        q = rng.choices(w["queue_names"], cum_weights=w["queue_cum_weights"])[0]
        cid = f"c{self.next_call}"
        self.next_call += 1
        r = rng.random()
        priority = 0 if r < 0.87 else (1 if r < 0.97 else 2)
        preferred = None
        if rng.random() < P_PREFERRED and w["members"][q]:
            preferred = rng.choice(w["members"][q])
        self.calls[cid] = Call()
        attributes = {"caller": f"+1555{rng.randrange(CALLERS):07d}"}
        if self.scen.plan:
            attributes["dest"] = q  # the plan's rule for q sends it there
        return self.mod.CallArrived(
            now=now,
            call_id=cid,
            queue=q,
            attributes=attributes,
            requirement=rng.choice(w["requirements"][q]),
            priority=priority,
            emergency=rng.random() < 0.005,
            preferred_agent=preferred,
        )

    def after(self, item: tuple[float, int, int, str, str, int], ev: Any) -> None:
        """Update the driver's view once ``ev`` was accepted (its actions already applied)."""
        now, _, kind, a, b, _ = item
        rng = self.rng
        if kind == ANSWER:
            del self.offers[(a, b)]
            call = self.calls[a]
            call.state = CONNECTED
            call.agent = b
            self.agents[b].connected.add(a)
            self.at(now + rng.lognormvariate(self.handle_mu, HANDLE_SIGMA), END, a)
        elif kind == END:
            call = self.calls.pop(a)
            ag = self.agents[call.agent or ""]
            ag.connected.discard(a)
            if ag.pending_logout and not ag.connected:
                self.logged_out(ag)
        elif kind in (ARRIVAL, BACKLOG):
            if ev.call_id in self.calls:  # not rejected
                self.at(now + rng.expovariate(1.0 / self.scen.patience_mean), ABANDON, ev.call_id)
        elif kind == ABANDON:
            del self.calls[a]
        elif kind == DECLINE:
            del self.offers[(a, b)]
        elif kind == PAUSE_TICK:
            ag = self.agents[ev.agent_id]
            ag.paused = True
            ag.pause_token += 1
            self.at(now + rng.uniform(*PAUSE_FOR), RESUME, ev.agent_id, token=ag.pause_token)
        elif kind == RESUME:
            self.agents[a].paused = False
        elif kind == LOGOUT_TICK:
            ag = self.agents[ev.agent_id]
            if ag.connected:
                ag.pending_logout = True
            else:
                self.logged_out(ag)
            self.at(now + rng.uniform(*LOGOUT_FOR), LOGIN, ev.agent_id)
        elif kind == LOGIN:
            ag = self.agents[a]
            ag.logged_in = True
            ag.paused = False
            ag.pending_logout = False

    @staticmethod
    def logged_out(ag: Agent) -> None:
        ag.logged_in = False
        ag.pending_logout = False
        ag.paused = False
        ag.pause_token += 1  # any pending resume is now stale

    def react(self, actions: list[Any]) -> None:
        """Perform the distributor's actions: ring phones, stop ringing, play hold music."""
        m = self.mod
        rng = self.rng
        upd = self.digest.update
        self.actions += len(actions)
        for act in actions:
            tp = type(act)
            if tp is m.Offer:
                c, g = act.call_id, act.agent_id
                upd(f"O{act.at!r}{c}{g}".encode())
                self.calls[c].state = RINGING
                self.token += 1
                self.offers[(c, g)] = self.token
                r = rng.random()
                if r < P_ANSWER:
                    self.at(act.at + rng.uniform(*ANSWER_DELAY), ANSWER, c, g, self.token)
                elif r < P_ANSWER + P_DECLINE:
                    self.at(act.at + rng.uniform(*DECLINE_DELAY), DECLINE, c, g, self.token)
                # else: the phone rings out; the distributor's ring timeout handles it
            elif tp is m.Queued:
                upd(f"Q{act.at!r}{act.call_id}{act.position}{act.reason}".encode())
                self.calls[act.call_id].state = WAITING
            elif tp is m.CancelOffer:
                upd(f"C{act.at!r}{act.call_id}{act.agent_id}{act.reason}".encode())
                del self.offers[(act.call_id, act.agent_id)]
            elif tp is m.PauseAgent:
                upd(f"P{act.at!r}{act.agent_id}".encode())
                ag = self.agents[act.agent_id]
                ag.paused = True
                ag.pause_token += 1
                self.at(
                    act.at + rng.uniform(*AUTO_PAUSE_FOR),
                    RESUME,
                    act.agent_id,
                    token=ag.pause_token,
                )
            elif tp is m.Reject:
                upd(f"R{act.at!r}{act.call_id}".encode())
                del self.calls[act.call_id]
            elif tp is m.Announce:  # (the caller listens and holds on)
                upd(f"A{act.at!r}{act.call_id}{act.position}{act.wait!r}{act.rotation}".encode())
            elif tp is m.OfferCallback:  # (the caller declines: stays in line)
                upd(f"B{act.at!r}{act.call_id}{act.position}{act.estimate!r}".encode())
            else:
                raise AcdDriverError(f"unexpected action {act!r}")

    def verify(self) -> None:
        """Distributor invariants, and the driver's view against the distributor's."""
        acd = self.acd
        acd.check()
        names = {WAITING: "waiting", RINGING: "ringing", CONNECTED: "connected"}
        counts = acd.counts()
        if counts["waiting"] + counts["ringing"] + counts["connected"] != len(self.calls):
            raise AcdDriverError(f"driver tracks {len(self.calls)} live calls, acd {counts}")
        for cid, call in self.calls.items():
            view = acd.call(cid)
            if view.state.value != names[call.state]:
                raise AcdDriverError(f"{cid}: driver {names[call.state]}, acd {view.state.value}")
            if call.state == RINGING:
                ringing = {g for (c, g) in self.offers if c == cid}
                if ringing != set(view.offered_to):
                    raise AcdDriverError(f"{cid}: offers {ringing} vs {view.offered_to}")
        for aid, ag in self.agents.items():
            try:
                view = acd.agent(aid)
            except self.mod.UnknownAgent:
                if ag.logged_in:
                    raise AcdDriverError(
                        f"{aid}: logged in for the driver, unknown to acd"
                    ) from None
                continue
            if (view.state.value == "logged-out") == ag.logged_in:
                raise AcdDriverError(f"{aid}: driver logged_in={ag.logged_in}, acd {view.state}")
            if ag.logged_in and (view.paused_reason is not None) != ag.paused:
                raise AcdDriverError(f"{aid}: driver paused={ag.paused}, acd {view.paused_reason}")


# ----------------------------------------------------------------------------- worker


def percentile(sorted_ns: list[int], q: float) -> float:
    """Nearest-rank percentile of sorted samples, in microseconds."""
    if not sorted_ns:
        return float("nan")
    i = min(len(sorted_ns) - 1, max(0, math.ceil(q * len(sorted_ns)) - 1))
    return sorted_ns[i] / 1000.0


def summarize(ns: Iterable[int]) -> dict[str, float]:
    s = sorted(ns)
    return {
        "count": len(s),
        "total_s": sum(s) / 1e9,
        "p50_us": percentile(s, 0.50),
        "p99_us": percentile(s, 0.99),
        "p999_us": percentile(s, 0.999),
        "max_us": (s[-1] / 1000.0) if s else float("nan"),
    }


def load_backend(backend: str) -> Any:
    """Import acdcore with ``backend`` selected; refuse a silent fallback."""
    import warnings

    os.environ["ACDCORE_BACKEND"] = backend
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        import acdcore
    if backend != acdcore.BACKEND:
        print(
            f"backend {backend!r} requested but acdcore loaded {acdcore.BACKEND!r}; "
            "it is not available in this build",
            file=sys.stderr,
        )
        raise SystemExit(UNAVAILABLE)
    return acdcore


class GcWatch:
    """Counts cyclic-GC collections and their pauses (they land inside timed calls)."""

    def __init__(self) -> None:
        self.started = 0
        self.pauses: list[tuple[int, int]] = []  # (generation, ns)

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter_ns()
        else:
            self.pauses.append((info["generation"], time.perf_counter_ns() - self.started))

    def summary(self) -> dict[str, Any]:
        return {
            "collections": [sum(1 for g, _ in self.pauses if g == gen) for gen in (0, 1, 2)],
            "total_ms": sum(ns for _, ns in self.pauses) / 1e6,
            "max_ms": max((ns for _, ns in self.pauses), default=0) / 1e6,
        }


class CTimer:
    """Stands in for a ``NativeCore``'s cffi ``lib`` and times every call into C.

    Each call pays a Python wrapper (about 0.2-0.4 us) that is not in the C time but is in
    the API time, so a run with ``--time-c`` is for the split, not for events/s."""

    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self.stats: dict[str, list[int]] = {}  # name -> [calls, ns]

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._lib, name)
        if not callable(fn):
            return fn
        pc = time.perf_counter_ns
        entry = self.stats.setdefault(name, [0, 0])

        def timed(*args: Any) -> Any:
            t0 = pc()
            out = fn(*args)
            entry[1] += pc() - t0
            entry[0] += 1
            return out

        setattr(self, name, timed)  # later lookups skip __getattr__
        return timed


def run_cell(
    scen: Scenario, backend: str, seed: int, check: int, profile: str | None, time_c: bool = False
) -> dict:
    """Build, warm up and measure one scenario on one backend, in this process."""
    acd_mod = load_backend(backend)
    rss_base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    w0 = time.perf_counter()
    world = build(scen, seed, acd_mod)
    drv = Driver(scen, seed, acd_mod, world)
    build_s = time.perf_counter() - w0

    w0 = time.perf_counter()
    drv.start()
    warm_ops = drv.run(until=lead_time(scen) + scen.login_spread + scen.warmup, check=check)
    warm_s = time.perf_counter() - w0
    before = drv.acd.counts()
    sim_start = drv.acd.now

    drv.reset_stats()
    timer = None
    nat = getattr(drv.acd, "_nat", None)
    if time_c and nat is not None:  # the measured window only
        timer = nat.lib = CTimer(nat.lib)
    watch = GcWatch()
    gc.callbacks.append(watch)
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    w0 = time.perf_counter()
    ops = drv.run(ops=scen.events, check=check)
    wall_s = time.perf_counter() - w0
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before the summaries
    if prof is not None:
        prof.disable()
        prof.dump_stats(profile)
    gc.callbacks.remove(watch)

    after = drv.acd.counts()
    handles = array.array("q")
    for samples in drv.hdl_ns.values():
        handles.extend(samples)
    advances = drv.adv_deadline_ns + drv.adv_event_ns
    every = summarize(handles + advances)
    return {
        "scenario": asdict(scen),
        "backend": backend,
        "acdcore_file": acd_mod.__file__,
        "python": sys.version.split()[0],
        "seed": seed,
        "arrival_rate": arrival_rate(scen),
        "events": ops,
        "events_per_s": ops / every["total_s"] if every["total_s"] else float("nan"),
        "all": every,
        "handle": summarize(handles),
        "advance": summarize(advances),
        "advance_deadline": summarize(drv.adv_deadline_ns),
        "advance_event": summarize(drv.adv_event_ns),
        "by_event": {k: summarize(v) for k, v in sorted(drv.hdl_ns.items())},
        "advance_fired": drv.adv_fired,
        "actions": drv.actions,
        "next_deadline_calls": drv.nd_calls,
        "next_deadline_s": drv.nd_ns / 1e9,
        "gc": watch.summary(),
        "sim_seconds": drv.acd.now - sim_start,
        "measured_wall_s": wall_s,
        "warmup_ops": warm_ops,
        "warmup_wall_s": warm_s,
        "build_s": build_s,
        "peak_rss_kib": peak_rss,
        "base_rss_kib": rss_base,
        "counts_start": before,
        "counts_end": after,
        "waiting_end": after["waiting"],
        "agent_states_end": {k: v for k, v in drv.acd.agent_states().items() if v},
        "digest": drv.digest.hexdigest(),
        "checked_every": check,
        "c_time": timer.stats if timer is not None else None,
    }


# ----------------------------------------------------------------------------- parent


def spawn(scen: Scenario, backend: str, args: argparse.Namespace) -> dict | None:
    """Run one cell in a fresh interpreter with ``ACDCORE_BACKEND=backend``."""
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--worker",
        json.dumps(asdict(scen)),
        "--backend",
        backend,
        "--seed",
        str(args.seed),
        "--check",
        str(args.check),
    ]
    if args.profile:
        cmd += ["--profile", f"{args.profile}.{scen.name}.{backend}"]
    if args.time_c:
        cmd.append("--time-c")
    env = dict(os.environ, ACDCORE_BACKEND=backend)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode == UNAVAILABLE:
        sys.stderr.write(proc.stderr)
        return None
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"{scen.name}/{backend} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout)


def markdown(heads: list[str], lines: list[list[str]], left: int = 2) -> str:
    """A Markdown table; the first ``left`` columns are left-aligned, the rest right."""
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(heads)]
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)) + " |"]
    out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for cells in lines:
        padded = [
            c.ljust(w) if i < left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        out.append("| " + " | ".join(padded) + " |")
    return "\n".join(out)


def mean_us(r: dict) -> float:
    """Mean API time per event (advance or handle call), microseconds."""
    return r["all"]["total_s"] / r["events"] * 1e6 if r["events"] else float("nan")


def ratio_label(backends: list[str]) -> str:
    return f"{backends[1]}/{backends[0]}" if len(backends) == 2 else f"vs {backends[0]}"


def table(rows: list[dict], backends: list[str]) -> str:
    heads = [
        "scenario",
        "backend",
        "agents",
        "events",
        "events/s",
        "mean us",
        "p50 us",
        "p99 us",
        "handle p50",
        "handle p99",
        "peak RSS MiB",
        "waiting at end",
    ]
    if len(backends) > 1:
        heads.append(ratio_label(backends))
    ref = {r["scenario"]["name"]: r for r in rows if r["backend"] == backends[0]}
    lines = []
    for r in rows:
        cells = [
            r["scenario"]["name"],
            r["backend"],
            f"{r['scenario']['agents']:,}",
            f"{r['events']:,}",
            f"{r['events_per_s']:,.0f}",
            f"{mean_us(r):.2f}",
            f"{r['all']['p50_us']:.1f}",
            f"{r['all']['p99_us']:.1f}",
            f"{r['handle']['p50_us']:.1f}",
            f"{r['handle']['p99_us']:.1f}",
            f"{r['peak_rss_kib'] / 1024:.0f}",
            f"{r['waiting_end']:,}",
        ]
        if len(backends) > 1:
            base = ref.get(r["scenario"]["name"])
            cells.append(f"{r['events_per_s'] / base['events_per_s']:.2f}x" if base else "-")
        lines.append(cells)
    return markdown(heads, lines)


def scaling_table(rows: list[dict], backends: list[str]) -> str | None:
    """Cost per event of the scaling cells, and its growth over the 1,000-agent cell."""
    cells = {(r["scenario"]["name"], r["backend"]): r for r in rows}
    lines = []
    for backend in backends:
        first = next((cells[(n, backend)] for n in SCALING if (n, backend) in cells), None)
        for name in SCALING:
            r = cells.get((name, backend))
            if r is None or first is None:
                continue
            h = r["handle"]
            ad = r["advance_deadline"]
            lines.append(
                [
                    name,
                    backend,
                    f"{r['scenario']['agents']:,}",
                    f"{r['events']:,}",
                    f"{r['events_per_s']:,.0f}",
                    f"{mean_us(r):.2f}",
                    f"{h['total_s'] / max(1, h['count']) * 1e6:.1f}",
                    f"{ad['total_s'] / max(1, ad['count']) * 1e6:.1f}",
                    f"{h['p50_us']:.1f}",
                    f"{h['p99_us']:.1f}",
                    f"{r['peak_rss_kib'] / 1024:.0f}",
                    f"{r['waiting_end']:,}",
                    f"{mean_us(r) / mean_us(first):.2f}x",
                ]
            )
    if not lines:
        return None
    heads = [
        "scenario",
        "backend",
        "agents",
        "events",
        "events/s",
        "mean us/event",
        "handle mean us",
        "advance(deadline) mean us",
        "handle p50",
        "handle p99",
        "peak RSS MiB",
        "waiting at end",
        f"cost vs {SCALING[0]}",
    ]
    return markdown(heads, lines)


def targets(rows: list[dict]) -> list[str]:
    """The issue's dispatch targets, checked on whatever cells were measured."""
    cells = {(r["scenario"]["name"], r["backend"]): r for r in rows}
    out = []
    nat, py = cells.get(("large", "native")), cells.get(("large", "python"))
    if nat is not None:
        eps = nat["events_per_s"]
        out.append(
            f"large, native >= 200,000 events/s: {eps:,.0f} -> {'met' if eps >= 2e5 else 'MISSED'}"
        )
        if py is not None:
            x = eps / py["events_per_s"]
            out.append(f"large, native/python >= 10x: {x:.2f}x -> {'met' if x >= 10 else 'MISSED'}")
    for backend in ("native", "python"):
        lo, hi = cells.get((SCALING[0], backend)), cells.get((SCALING[-1], backend))
        if lo is not None and hi is not None:
            g = mean_us(hi) / mean_us(lo)
            out.append(
                f"{backend}: cost per event at {hi['scenario']['agents']:,} agents <= 2x "
                f"{lo['scenario']['agents']:,}: {mean_us(hi):.2f} / {mean_us(lo):.2f} us = "
                f"{g:.2f}x -> {'met' if g <= 2 else 'MISSED'}"
            )
    return out


# The distributor's rules, one module per concept (see acdcore/distributor.py's docstring).
_HANDLER_MODULES = frozenset(
    f"_{name}.py"
    for name in (
        "agents", "calls", "checks", "deadlines", "estimates", "experience", "offers",
        "queueing", "routing", "views",
    )
)  # fmt: skip


def _layer(fname: str, func: str) -> str | None:
    """The layer a profiled function belongs to; ``None`` for builtins, the stdlib and
    generated code, whose time goes to the layer that called them."""
    norm = fname.replace(os.sep, "/")
    if fname == "~":
        if "_acdnative.acd_" in func:
            return "C core: cffi calls into acd_native.c"
        if "_cffi_backend" in func:
            return "cffi (ffi.new, casts)"
        return None
    if norm.endswith("acdcore/_native/core.py"):
        return "NativeCore wrapper (_native/core.py)"
    if norm.endswith("acdcore/distributor.py") or norm.rsplit("/", 1)[-1] in _HANDLER_MODULES:
        return "Distributor (distributor.py and its handler modules)"
    if "/acdcore/" in norm:
        return "other acdcore modules"
    if "sortedcontainers" in norm:
        return "sortedcontainers (waiting-call index)"
    if norm.endswith("benchmarks/dispatch.py"):
        return "driver (dispatch.py, not in the API time)"
    return None


def profile_summary(path: str, top: int = 15) -> str:
    """Where the profiled time went, by layer: the C core, the Python around it, the driver.

    Builtins, stdlib and attrs-generated functions count for the layer that called them
    (split over their callers by the time cProfile recorded on each call edge)."""
    import pstats

    stats = pstats.Stats(path).stats  # type: ignore[attr-defined]
    layers: dict[str, float] = {}

    def charge(func: tuple[str, int, str], tt: float, depth: int = 0) -> None:
        layer = _layer(func[0], func[2])
        if layer is None and depth < 8:
            callers = stats[func][4] if func in stats else {}
            edges = {c: e[2] for c, e in callers.items()}
            total = sum(edges.values())
            if total > 0:
                for caller, ctt in edges.items():
                    charge(caller, tt * ctt / total, depth + 1)
                return
        layer = layer or "unattributed builtins"
        layers[layer] = layers.get(layer, 0.0) + tt

    funcs = []
    total = 0.0
    api = 0.0
    for func, (_cc, ncalls, tt, ct, _callers) in stats.items():
        total += tt
        charge(func, tt)
        fname, line, name = func
        if fname.replace(os.sep, "/").endswith("acdcore/distributor.py") and name in (
            "handle",
            "advance",
        ):
            api += ct
        funcs.append(
            (tt, ncalls, f"{fname.replace(os.sep, '/').rsplit('/', 1)[-1]}:{line}({name})")
        )
    c_time = layers.get("C core: cffi calls into acd_native.c", 0.0)
    lines = [
        f"cProfile of {path}: {total:.2f} s profiled; Distributor.handle + advance "
        f"(cumulative) {api:.2f} s, of which {c_time:.2f} s ({c_time / api * 100:.1f} %) in "
        f"C calls"
        if api
        else f"cProfile of {path}: {total:.2f} s profiled",
        "  own time by layer (builtins charged to their caller):",
    ]
    for layer, tt in sorted(layers.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {tt / total * 100:5.1f} %  {tt:7.2f} s  {layer}")
    lines.append(f"  top {top} functions by own time:")
    for tt, ncalls, name in sorted(funcs, reverse=True)[:top]:
        lines.append(f"  {tt / total * 100:5.1f} %  {ncalls:>10,} calls  {name}")
    return "\n".join(lines)


def details(r: dict) -> str:
    s = r["scenario"]
    ce, cs = r["counts_end"], r["counts_start"]
    h, ad, ae = r["handle"], r["advance_deadline"], r["advance_event"]
    per_event = ", ".join(
        f"{k} {v['count']:,}x {v['total_s'] / v['count'] * 1e6:.0f}/{v['p99_us']:.0f}"
        for k, v in r["by_event"].items()
    )
    g = r["gc"]
    return (
        f"{s['name']}/{r['backend']}: {s['agents']:,} agents, {s['skills']} skills, "
        f"{s['queues']} queues, {s['queues_per_agent'][0]}-{s['queues_per_agent'][1]} "
        f"queues/agent, load {s['load']:.2f} ({r['arrival_rate']:.2f} calls/s)\n"
        f"  events: {h['count']:,} handle + {ae['count']:,} advance(t) before them + "
        f"{ad['count']:,} advance(deadline) ({r['advance_fired']:,} returned actions) = "
        f"{r['events']:,}; {r['actions']:,} actions; {r['sim_seconds']:,.0f} simulated s; "
        f"API time {r['all']['total_s']:.2f} s of {r['measured_wall_s']:.2f} s wall\n"
        f"  p50/p99/max us: handle {h['p50_us']:.1f}/{h['p99_us']:.1f}/{h['max_us']:.0f}, "
        f"advance(deadline) {ad['p50_us']:.1f}/{ad['p99_us']:.1f}/{ad['max_us']:.0f}, "
        f"advance(t) {ae['p50_us']:.1f}/{ae['p99_us']:.1f}/{ae['max_us']:.0f}; "
        f"next_deadline() {r['next_deadline_s'] / max(1, r['next_deadline_calls']) * 1e6:.2f} "
        f"us avg (not counted)\n"
        f"  handle by event (count x mean/p99 us): {per_event}\n"
        f"  calls in window: arrived {ce['arrived'] - cs['arrived']:,}, "
        f"completed {ce['completed'] - cs['completed']:,}, "
        f"abandoned {ce['abandoned'] - cs['abandoned']:,}, "
        f"rejected {ce['rejected'] - cs['rejected']:,}; at end waiting {ce['waiting']:,}, "
        f"ringing {ce['ringing']:,}, connected {ce['connected']:,}\n"
        f"  GC in window: {g['collections'][0]}/{g['collections'][1]}/{g['collections'][2]} "
        f"collections (gen 0/1/2), {g['total_ms']:.0f} ms total, longest {g['max_ms']:.0f} ms; "
        f"warm-up {r['warmup_ops']:,} events in {r['warmup_wall_s']:.1f} s wall "
        f"(build {r['build_s']:.1f} s); RSS after import {r['base_rss_kib'] / 1024:.0f} MiB; "
        f"action digest {r['digest']}" + c_split(r)
    )


def c_split(r: dict) -> str:
    """The ``--time-c`` line: time inside C calls against the API time."""
    stats = r.get("c_time")
    if not stats:
        return ""
    c_s = sum(ns for _, ns in stats.values()) / 1e9
    api_s = r["all"]["total_s"]
    calls = sum(n for n, _ in stats.values())
    per = ", ".join(
        f"{name} {n:,}x {ns / n / 1000:.2f} us"
        for name, (n, ns) in sorted(stats.items(), key=lambda kv: -kv[1][1])
        if n
    )
    return (
        f"\n  C calls in window (--time-c): {c_s:.2f} s of {api_s:.2f} s API time "
        f"({c_s / api_s * 100:.1f} %), {calls / r['events']:.2f} calls and "
        f"{c_s / r['events'] * 1e6:.2f} us an event; {per}"
    )


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--scenario",
        action="append",
        choices=[*SCENARIOS, *GROUPS],
        help="scenario or group to run (repeatable; default: all = small, large, scaling)",
    )
    p.add_argument("--events", type=int, help="measured events (advance + handle calls)")
    p.add_argument(
        "--scale-events",
        type=int,
        help=f"measured events of the scaling cells only (default {SCALING_EVENTS:,})",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--agents", type=int, help="override the number of agents (load kept; not scaling)"
    )
    p.add_argument(
        "--backend",
        action="append",
        help=f"backend to measure (repeatable; default: {', '.join(BACKENDS)})",
    )
    p.add_argument("--warmup", type=float, help="simulated seconds of warm-up traffic")
    p.add_argument("--load", type=float, help="override offered load / capacity")
    p.add_argument(
        "--estimators",
        action="store_true",
        help="attach a LearnedEstimator to every distributor, as the network service does",
    )
    p.add_argument(
        "--announce",
        action="store_true",
        help="every queue announces (first after 30 s, then every 60 s) and offers callbacks "
        "over 2 minutes, with the default estimator",
    )
    p.add_argument(
        "--check", type=int, default=0, help="run check() every N events (slow; 0: never)"
    )
    p.add_argument(
        "--profile",
        help="write cProfile stats of the measured phase to PREFIX.<scenario>.<backend> and "
        "print a summary by layer (inflates the timings)",
    )
    p.add_argument(
        "--time-c",
        action="store_true",
        help="time every call into the native core in the measured window and print the C "
        "share of the API time (adds a Python wrapper to each C call)",
    )
    p.add_argument("--json", help="also write the raw results to this file")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:  # child: one cell, JSON on stdout
        scen = Scenario(**json.loads(args.worker))
        scen = replace(
            scen,
            queues_per_agent=tuple(scen.queues_per_agent),
            skills_per_call=tuple(scen.skills_per_call),
        )
        gc.collect()
        result = run_cell(scen, args.backend[0], args.seed, args.check, args.profile, args.time_c)
        json.dump(result, sys.stdout)
        return

    names: list[str] = []
    for item in args.scenario or ["all"]:
        for name in GROUPS.get(item, (item,)):
            if name not in names:
                names.append(name)
    backends = list(dict.fromkeys(args.backend or BACKENDS))
    rows = []
    started = time.perf_counter()
    for name in names:
        scen = SCENARIOS[name]
        scaling = name in SCALING
        if args.agents and not scaling:
            scen = replace(scen, agents=args.agents)
        if args.events:
            scen = replace(scen, events=args.events)
        if args.scale_events and scaling:
            scen = replace(scen, events=args.scale_events)
        if args.warmup is not None:
            scen = replace(scen, warmup=args.warmup)
        if args.load:
            scen = replace(scen, load=args.load)
        if args.estimators:
            scen = replace(scen, estimators=True)
        if args.announce:
            scen = replace(scen, announce=True)
        for backend in backends:
            print(f"running {name} on {backend}...", file=sys.stderr, flush=True)
            w0 = time.perf_counter()
            row = spawn(scen, backend, args)
            if row is None:
                print(f"skipped {name} on {backend}: backend unavailable", file=sys.stderr)
            else:
                row["cell_wall_s"] = time.perf_counter() - w0
                rows.append(row)
    if not rows:
        raise SystemExit("nothing was measured")
    measured = list(dict.fromkeys(r["backend"] for r in rows))
    backends = [b for b in backends if b in measured]
    print(table(rows, backends))
    scaled = scaling_table(rows, backends)
    if scaled:
        print()
        print(scaled)
    print()
    for r in rows:
        print(details(r))
    differ = []
    for name in names:  # same seed and events: every backend must decide the same
        digests = {r["backend"]: r["digest"] for r in rows if r["scenario"]["name"] == name}
        if len(digests) > 1:
            same = len(set(digests.values())) == 1
            if not same:
                differ.append(name)
            print(f"{name}: action streams {'identical' if same else 'DIFFER'} across {digests}")
    checks = targets(rows)
    if checks:
        print("\ntargets (issue):")
        for line in checks:
            print(f"  {line}")
    if args.profile:
        for r in rows:
            print()
            print(profile_summary(f"{args.profile}.{r['scenario']['name']}.{r['backend']}"))
    walls = ", ".join(
        f"{r['scenario']['name']}/{r['backend']} {r['cell_wall_s']:.0f} s" for r in rows
    )
    print(
        f"\nevents = Distributor.advance + Distributor.handle calls, each timed alone "
        f"(perf_counter_ns); events/s = events / summed API time; mean us = summed API time / "
        f"events. seed {args.seed}, Python {rows[0]['python']}, acdcore from "
        f"{rows[0]['acdcore_file']}; {time.perf_counter() - started:.0f} s wall in all ({walls})"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    if differ:
        raise SystemExit(f"backends made different decisions in {', '.join(differ)}")


if __name__ == "__main__":
    main()
