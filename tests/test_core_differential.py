"""Contract-level differential fuzz: the native core against the reference,
with no Distributor in between.

The native core (:class:`~acdcore._native.core.NativeCore`) holds the state
every routing decision reads and makes the decisions. The reference for the
same decisions is :mod:`acdcore.router` (``eligible_at``, ``opens_at``,
``membership_for``, ``select_agents``, ``draw``) over
:class:`~acdcore._state.AgentRecord` and :class:`~acdcore._state.CallRecord`
records, plus the plain model below of what the core keeps beside them: each
queue's free agents (an agent is free in all its queues, or in none, as of its
last sync) and each queue's waiting calls in key order (a sorted list).

Random operation sequences drive both at once:

- ``profile``: an agent's skills, capacity per channel, exclusive channels,
  memberships (priority, delay, position, weight, in a random order) and
  region; its scan list as the distributor builds it (own queues, then the
  queues whose calls may borrow them);
- ``sync``: available, idle since, calls taken, talk time, the load-guard
  flag and its sessions (some holding a waiting call: a transfer);
- ``put`` (queue, requirement, channel, key, entered, preferred agent, some
  never profiled, and its reservation, region, regional, extra queues),
  ``restage`` and ``remove`` of calls;
- ``route_call`` at a random instant with a random round-robin memory: the
  agents chosen, the candidates and weights of the random strategies (and
  the draw made from them with a twin RNG), the earliest instant when none
  is eligible now; sometimes the offer is then made (the call leaves, each
  chosen agent gets a ringing session and is synced again);
- ``route_agent`` at a random instant: the calls the agent takes, in order,
  and the earliest instant a held-back call opens; then the calls leave and
  the agent is synced again, or not (the core keeps it in its free lists),
  or every offer is declined (the calls wait again under their own keys);
- ``match``: the core's bulk loop (``acd_match_agents``) over a few agents.

After every operation the core's free lists, waiting counts and call count
must equal the model's. Each queue's strategy is drawn from all nine.

Modes:

- pytest, hypothesis: the ``ci``/``dev``/``soak`` profiles of conftest; the
  shrunk operation list is printed with the falsifying example;
- pytest, seeded: every strategy on every queue, 20,000 steps each
  (``ACDCORE_CORE_DIFF_STEPS`` raises it);
- a long soak counting steps, from the repository root::

      python -m tests.test_core_differential --steps 10000000 --seed 1

  It prints steps/s as it goes; on a divergence it shrinks the episode (delta
  debugging over its operations) and prints the minimal reproduction as a
  regression test to paste into ``REGRESSIONS``. ``--native PATH`` runs it
  against another build of the extension (e.g. a broken scratch copy); by
  default it loads a private copy of the built one, so a rebuild in the work
  tree cannot change it mid-run.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import importlib.machinery
import importlib.util
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from acdcore._state import AgentRecord, CallRecord, QueueRecord, Session, SessionState
from acdcore.config import AgentProfile, QueueConfig, QueueMembership, Strategy
from acdcore.router import draw, eligible_at, membership_for, opens_at, select_agents
from acdcore.skills import Channel, SkillRequirement

from .strategies import AGENT_IDS, QUEUE_NAMES, SKILLS
from .test_stateful import STEPS  # conftest prints the steps checked at the end

MAX_TAKE = 64  # calls NativeCore.route_agent asks the core for at most, per call
DRAWN = (Strategy.RANDOM, Strategy.WEIGHTED_RANDOM, Strategy.RING_ALL)
STRATEGIES = tuple(Strategy)
CHANNELS = tuple(ch.value for ch in Channel)
AGENTS = (*AGENT_IDS, "a5", "a6", "a7")
IDS = (*AGENTS, "ghost")  # "ghost" is only ever named as a preferred agent
INF = math.inf

Op = tuple[Any, ...]
Config = dict[str, Any]


class Divergence(AssertionError):
    """The core and the reference disagree; ``kind`` names the check."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def _ids(agents: Iterable[AgentRecord | None]) -> list[str | None]:
    return [None if a is None else a.agent_id for a in agents]


# ----------------------------------------------------------- the harness


_REQS: dict[tuple[tuple[str, int], ...], SkillRequirement] = {}


def _requirement(items: tuple[tuple[str, int], ...]) -> SkillRequirement:
    req = _REQS.get(items)
    if req is None:
        req = _REQS[items] = SkillRequirement(dict(items))
    return req


class Harness:
    """One NativeCore and the reference state beside it; :meth:`step`
    applies an operation to both and raises :class:`Divergence` when they
    disagree."""

    def __init__(self, config: Config) -> None:
        from acdcore._native.core import NativeCore

        self.config = config
        self.names: tuple[str, ...] = tuple(config["queues"])
        strategies = [Strategy(s) for s in config["strategies"]]
        self.strategy = dict(zip(self.names, strategies, strict=True))
        self.qrec = {
            q: QueueRecord(QueueConfig(q, strategy=s))
            for q, s in zip(self.names, strategies, strict=True)
        }
        self.nat = NativeCore(self.names, strategies)
        self.lib = self.nat.lib
        extras: dict[str, list[str]] = config["extras"]
        # A queue's borrowers: the queues whose calls may add it (scan_list).
        self.borrowers = {a: [b for b in self.names if a in extras[b]] for a in self.names}
        self.agents: dict[str, AgentRecord] = {}
        self.avail: dict[str, bool] = {}  # as last synced
        self.guarded: dict[str, bool] = {}  # as last synced
        self.free: dict[str, bool] = {}  # in its queues' free sets
        self.calls: dict[int, CallRecord] = {}  # waiting, by seq
        self.keys: dict[str, list[tuple[float, ...]]] = {q: [] for q in self.names}
        self.waiting: dict[str, list[CallRecord]] = {q: [] for q in self.names}
        self.stats: dict[str, int] = {}

    # ------------------------------------------------------------ helpers

    def count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    def scan_list(self, agent: AgentRecord) -> list[tuple[str, QueueMembership | None]]:
        """As ``_routing.scan_list``: own queues, then borrowing queues."""
        own = agent.profile.queues
        out: list[tuple[str, QueueMembership | None]] = list(own.items())
        seen = set(own)
        for qname in own:
            for borrower in self.borrowers[qname]:
                if borrower not in seen:
                    seen.add(borrower)
                    out.append((borrower, None))
        return out

    def free_in(self, queue: str) -> set[str]:
        return {
            aid for aid, on in self.free.items() if on and queue in self.agents[aid].profile.queues
        }

    def _enqueue(self, call: CallRecord) -> None:
        keys = self.keys[call.queue]
        i = bisect.bisect_left(keys, call.key)
        keys.insert(i, call.key)
        self.waiting[call.queue].insert(i, call)
        self.calls[call.seq] = call

    def _dequeue(self, call: CallRecord) -> None:
        keys = self.keys[call.queue]
        i = bisect.bisect_left(keys, call.key)
        assert self.waiting[call.queue][i] is call
        del keys[i]
        del self.waiting[call.queue][i]
        del self.calls[call.seq]

    def _ring(self, agent: AgentRecord, call: CallRecord) -> None:
        agent.sessions[call.seq] = Session(
            call_id=call.call_id,
            channel=call.channel,
            queue=call.queue,
            state=SessionState.RINGING,
            seq=call.seq,
        )

    def _sync(self, agent: AgentRecord) -> None:
        aid = agent.agent_id
        avail = self.avail[aid]
        want = avail and agent.any_channel_free()
        got = self.nat.sync(agent, avail, self.guarded[aid])
        self.free[aid] = want
        if got != want:
            raise Divergence("sync", f"core says offerable={got}, reference {want} for {aid}")

    # ---------------------------------------------------------- reference

    def ref_route_call(self, call: CallRecord, now: float) -> tuple[list[AgentRecord], float]:
        """As the python path of ``_routing.route_call``: the free agents of
        the call's pool eligible now (after the load guard), and the
        earliest instant one of the others opens."""
        pool = self.free_in(call.queue)
        for extra in call.extra_queues:
            pool |= self.free_in(extra)
        q = self.qrec[call.queue]
        candidates: list[AgentRecord] = []
        earliest = INF
        for aid in pool:
            agent = self.agents[aid]
            at = eligible_at(agent, call, q, now)
            if at is None:
                continue
            if at <= now:
                candidates.append(agent)
            elif at < earliest:
                earliest = at
        if len(candidates) > 1:
            trusted = [a for a in candidates if not self.guarded[a.agent_id]]
            if trusted and len(trusted) < len(candidates):
                self.count("load guard filtered")
            if trusted:
                candidates = trusted
        return candidates, earliest

    def ref_best_call(self, agent: AgentRecord, now: float) -> tuple[CallRecord | None, float]:
        """As one turn of the python path of ``_routing.route_agent``: the
        best waiting call the agent may take now across its scan list, else
        the earliest instant a held-back one opens."""
        free = agent.free_channels()
        best: CallRecord | None = None
        best_rank: tuple[int, float, int] | None = None
        earliest = INF
        for qname, own in self.scan_list(agent):
            if own is not None and best_rank is not None and own.priority > best_rank[0]:
                continue
            q = self.qrec[qname]
            for call in self.waiting[qname]:
                if call.channel not in free:
                    continue
                membership = own if own is not None else membership_for(agent, call)
                if membership is None:
                    continue
                at = opens_at(agent, membership, call, q, now)
                if at is None:
                    continue
                if at <= now:
                    rank = (membership.priority, call.entered, call.seq)
                    if best_rank is None or rank < best_rank:
                        best, best_rank = call, rank
                    break
                if at < earliest:
                    earliest = at
        return best, earliest

    def ref_route_agent(
        self, agent: AgentRecord, avail: bool, now: float
    ) -> tuple[list[CallRecord], float]:
        """The calls the agent takes, best first, until it is full, none is
        eligible or it took MAX_TAKE; each leaves the model and rings the
        agent. Then the earliest instant (inf unless none was eligible)."""
        taken: list[CallRecord] = []
        while len(taken) < MAX_TAKE and avail and agent.any_channel_free():
            best, earliest = self.ref_best_call(agent, now)
            if best is None:
                return taken, earliest
            self._dequeue(best)
            self._ring(agent, best)
            taken.append(best)
        return taken, INF

    # --------------------------------------------------------- operations

    def step(self, op: Op) -> None:
        """Apply ``op`` to the core and the reference. An operation naming
        an agent or call that does not exist (left over when a shrink drops
        the operation that made it) does nothing."""
        getattr(self, "op_" + op[0])(*op[1:])
        self.check(op)

    def check(self, op: Op) -> None:
        lib, core = self.lib, self.nat.core
        for q in self.names:
            q_idx = self.nat._qidx[q]
            want = self.free_in(q)
            if lib.acd_queue_nfree(core, q_idx) != len(want) or self.nat.free_agents(q) != want:
                raise Divergence(
                    "free list",
                    f"after {op!r}: core {sorted(self.nat.free_agents(q))}, "
                    f"model {sorted(want)} in {q}",
                )
            if lib.acd_queue_nwaiting(core, q_idx) != len(self.waiting[q]):
                raise Divergence(
                    "waiting count",
                    f"after {op!r}: core {lib.acd_queue_nwaiting(core, q_idx)}, "
                    f"model {len(self.waiting[q])} in {q}",
                )
        if lib.acd_ncalls(core) != len(self.calls):
            raise Divergence("call count", f"after {op!r}: core {lib.acd_ncalls(core)}")

    def op_profile(
        self,
        aid: str,
        skills: dict[str, int],
        capacity: dict[str, int],
        exclusive: tuple[str, ...],
        memberships: tuple[tuple[str, int, float, int, int], ...],
        region: str | None,
    ) -> None:
        profile = AgentProfile(
            aid,
            skills=skills,
            queues={
                q: QueueMembership(priority=p, delay=d, position=pos, weight=w)
                for q, p, d, pos, w in memberships
            },
            capacity={Channel(c): n for c, n in capacity.items()},
            exclusive=[Channel(c) for c in exclusive],
            region=region,
        )
        agent = self.agents.get(aid)
        if agent is None:
            agent = AgentRecord(agent_id=aid, order=self.config["orders"][aid], profile=profile)
            self.agents[aid] = agent
            self.avail[aid] = self.guarded[aid] = False
        agent.set_profile(profile)
        self.nat.profile(agent, self.scan_list(agent))
        self.free[aid] = False  # out of every free list until the next sync

    def op_sync(
        self,
        aid: str,
        avail: bool,
        idle_since: float,
        calls_taken: int,
        talk_time: float,
        guarded: bool,
        sessions: tuple[tuple[int, str, str], ...] | None,
    ) -> None:
        agent = self.agents.get(aid)
        if agent is None:
            return
        if sessions is not None:
            agent.sessions = {
                seq: Session(
                    call_id=f"c{seq}",
                    channel=Channel(ch),
                    queue=self.names[0],
                    state=SessionState(state),
                    seq=seq,
                )
                for seq, ch, state in sessions
            }
        agent.idle_since = idle_since
        agent.calls_taken = calls_taken
        agent.talk_time = talk_time
        agent.logged_in = avail  # eligible_at asks offerable(): logged in, not paused, ...
        self.avail[aid] = avail
        self.guarded[aid] = guarded
        self._sync(agent)

    def op_put(
        self,
        seq: int,
        queue: str,
        req: tuple[tuple[str, int], ...],
        channel: str,
        key: tuple[float, ...],
        entered: float,
        preferred: str | None,
        preferred_until: float,
        region: str | None,
        regional: bool,
        extra: tuple[str, ...],
    ) -> None:
        if seq in self.calls:
            return
        call = CallRecord(
            call_id=f"c{seq}",
            seq=seq,
            queue=queue,
            channel=Channel(channel),
            attributes={},
            requirement=_requirement(req),
            priority=0,
            emergency=False,
            preferred_agent=preferred,
            arrived=entered,
            entered=entered,
            key=key,
        )
        call.region = region
        call.regional = regional
        call.extra_queues = extra
        call.preferred_until = preferred_until
        self.nat.put(call)
        self._enqueue(call)

    def op_restage(
        self, seq: int, req: tuple[tuple[str, int], ...], regional: bool, extra: tuple[str, ...]
    ) -> None:
        call = self.calls.get(seq)
        if call is None:
            return
        call.requirement = _requirement(req)
        call.regional = regional
        call.extra_queues = extra
        self.nat.restage(call)

    def op_remove(self, seq: int) -> None:
        call = self.calls.get(seq)
        if call is None:
            return
        self.nat.remove(call)
        self._dequeue(call)

    def op_route_call(
        self, seq: int, now: float, rr_last: int | None, offer: bool, seed: int
    ) -> None:
        call = self.calls.get(seq)
        if call is None:
            return
        q = self.qrec[call.queue]
        q.rr_last = rr_last
        strategy = self.strategy[call.queue]
        chosen, weights, soonest = self.nat.route_call(call, now, rr_last)
        candidates, earliest = self.ref_route_call(call, now)
        where = f"call {seq} in {call.queue} ({strategy.value}) at {now}"
        self.count(f"route_call {strategy.value}")
        if not candidates:
            if chosen:
                raise Divergence("route_call chosen", f"{where}: core {_ids(chosen)}, reference []")
            if soonest != earliest:
                raise Divergence("route_call earliest", f"{where}: core {soonest}, ref {earliest}")
            self.count("route_call none, held back" if earliest < INF else "route_call none")
            return
        if not chosen:
            raise Divergence("route_call chosen", f"{where}: core [], reference {_ids(candidates)}")
        picked = select_agents(q, call, candidates, random.Random(seed))
        preferred = call.preferred_agent
        if preferred is not None and chosen[0].agent_id == preferred:
            final = chosen
            self.count("route_call preferred wins")
        else:
            if strategy in DRAWN:
                ordered = sorted(candidates, key=lambda a: a.order)
                want = [membership_for(a, call).weight for a in ordered]  # type: ignore[union-attr]
                if _ids(chosen) != _ids(ordered) or list(weights) != want:
                    raise Divergence(
                        "route_call candidates",
                        f"{where}: core {_ids(chosen)} {list(weights)}, "
                        f"reference {_ids(ordered)} {want}",
                    )
                self.count(
                    "route_call several drawn" if len(ordered) > 1 else "route_call one drawn"
                )
            final = draw(strategy, chosen, weights, random.Random(seed))
        if _ids(final) != _ids(picked):
            raise Divergence(
                "route_call chosen", f"{where}: core {_ids(final)}, reference {_ids(picked)}"
            )
        if len(candidates) > 1:
            self.count("route_call tie-break among several")
        if offer:
            self.nat.remove(call)
            self._dequeue(call)
            for agent in final:
                self._ring(agent, call)
                self._sync(agent)

    def op_route_agent(self, aid: str, avail: bool, now: float, then: str) -> None:
        """``then``: "keep" the offers (the core keeps the agent in its free
        lists), "sync" the agent after them, or "requeue" the calls (every
        offer declined: the calls wait again under their keys, the agent is
        synced without them)."""
        agent = self.agents.get(aid)
        if agent is None:
            return
        taken, soonest = self.nat.route_agent(agent, avail, now)
        want, earliest = self.ref_route_agent(agent, avail, now)
        self.count("route_agent")
        if [c.seq for c in taken] != [c.seq for c in want] or soonest != earliest:
            raise Divergence(
                "route_agent",
                f"agent {aid} avail={avail} at {now}: core {[c.seq for c in taken]} "
                f"then {soonest}, reference {[c.seq for c in want]} then {earliest}",
            )
        for call in taken:
            self.nat.remove(call)
        if taken:
            self.count("route_agent took")
        if len(taken) > 1:
            self.count("route_agent took several")
        if not taken and earliest < INF:
            self.count("route_agent held back")
        if then == "requeue":
            for call in taken:
                del agent.sessions[call.seq]
                self.nat.put(call)
                self._enqueue(call)
        if then != "keep":
            self._sync(agent)

    def op_match(self, aids: tuple[str, ...], now: float, cap: int) -> None:
        lib = self.lib
        if not hasattr(lib, "acd_match_agents"):
            return
        agents = [self.agents[a] for a in aids if a in self.agents]
        ffi = self.nat.ffi
        n = len(agents)
        idx = ffi.new("int[]", [a.slot for a in agents] or [0])
        out_agent = ffi.new("int[]", cap or 1)
        out_slot = ffi.new("int[]", cap or 1)
        made = lib.acd_match_agents(self.nat.core, n, idx, now, cap, out_agent, out_slot)
        if made < 0:
            raise Divergence("match", f"core refused {aids} at {now}: {made}")
        got = [
            (self.nat._agents[out_agent[i]].agent_id, self.nat._calls[out_slot[i]].seq)
            for i in range(made)
        ]
        want: list[tuple[str, int]] = []
        for agent in agents:
            if len(want) >= cap:
                break  # the core stops at its cap, leaving the rest untouched
            aid = agent.agent_id
            while len(want) < cap and self.avail[aid] and agent.any_channel_free():
                best, _ = self.ref_best_call(agent, now)
                if best is None:
                    break
                self._dequeue(best)
                self._ring(agent, best)
                want.append((aid, best.seq))
            self.free[aid] = self.avail[aid] and agent.any_channel_free()
        self.count("match")
        if got != want:
            raise Divergence("match", f"{aids} at {now} cap {cap}: core {got}, reference {want}")
        for i in range(made):
            call = self.nat._calls[out_slot[i]]
            self.nat.remove(call)


# -------------------------------------------------------- the generator


class Source:
    """Where the generator's choices come from. Every choice is "an index
    below n"; index 0 is the simplest. :meth:`begin` marks the start of an
    operation."""

    def begin(self) -> None:
        pass

    def below(self, n: int) -> int:
        raise NotImplementedError

    def pick(self, seq: Sequence[Any]) -> Any:
        return seq[self.below(len(seq))]

    def chance(self, percent: int) -> bool:
        return self.below(100) >= 100 - percent

    def subset(self, seq: Sequence[Any], percent: int) -> tuple[Any, ...]:
        """Some of ``seq``, each kept with ``percent`` chance, in a random order."""
        kept = [x for x in seq if self.chance(percent)]
        out = []
        while kept:
            out.append(kept.pop(self.below(len(kept))))
        return tuple(out)


class RandomSource(Source):
    """The seeded loop's: one RNG for a whole episode."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed).random

    def below(self, n: int) -> int:
        return int(self._random() * n)


class DataSource(RandomSource):
    """Hypothesis's: one drawn seed per operation (one draw, not twenty, so
    an example costs little more than the seeded loop's), and hypothesis
    decides when the sequence ends; shrinking drops operations and lowers
    their seeds."""

    _seeds = st.integers(0, 2**32 - 1)
    _more = st.integers(0, 99)

    def __init__(self, data: st.DataObject) -> None:
        self.data = data
        super().__init__(0)

    def begin(self) -> None:
        self._random = random.Random(self.data.draw(self._seeds)).random

    def more(self) -> bool:
        return self.data.draw(self._more) > 0


def gen_config(src: Source, strategy: Strategy | None = None) -> Config:
    """Queues (with their strategies, key lengths and the queues their calls
    may add) and the agents' orders (not their core indices)."""
    names = QUEUE_NAMES[: 1 + src.below(len(QUEUE_NAMES))]
    orders = list(range(0, 3 * len(IDS), 3))
    perm = []
    while orders:
        perm.append(orders.pop(src.below(len(orders))))
    return {
        "queues": list(names),
        "strategies": [(strategy or src.pick(STRATEGIES)).value for _ in names],
        "keylen": [src.below(3) for _ in names],
        "extras": {q: [o for o in names if o != q and src.chance(40)] for q in names},
        "orders": dict(zip(IDS, perm, strict=True)),
    }


TIMES = (0.0, 0.5, 1.0, 2.5, 5.0)
SOON = (0.0, 0.0, 0.0, 0.5, 1.0, 2.5, 5.0)  # decisions: mostly now
DELAYS = (0.0, 0.0, 2.5, 5.0, 10.0)
KEY_PARTS = (0.0, 1.0, -1.0, 2.5)
LEVELS = (10, 1, 3, 5, 8)
MINIMA = (1, 3, 5, 9)
REGIONS = (None, "north", "south")
STATES = tuple(s.value for s in SessionState)
WEIGHTS = (1, 2, 5)
CHANNEL_ODDS = {"voice": 85, "chat": 35, "email": 25, "callback": 20}


class Generator:
    """Makes the next operation from a source and the harness's state (so
    every operation it makes names an agent or a call that exists)."""

    def __init__(self, src: Source, config: Config) -> None:
        self.src = src
        self.config = config
        self.names: list[str] = config["queues"]
        self.keylen = dict(zip(self.names, config["keylen"], strict=True))
        self.t = 0.0
        self.seq = 0
        self.session_seq = 10**6

    def requirement(self) -> tuple[tuple[str, int], ...]:
        src = self.src
        return tuple(sorted((s, src.pick(MINIMA)) for s in SKILLS if src.chance(20)))

    def instant(self) -> float:
        return self.t + self.src.pick(SOON)

    def next(self, h: Harness) -> Op:
        src = self.src
        src.begin()
        self.t += src.pick((0.0, 0.0, 0.5, 1.0, 2.5))
        agents = sorted(h.agents)
        calls = sorted(h.calls)
        k = src.below(100)
        if k < 10 or not agents:
            return self.profile()
        if k < 32:
            return self.sync(h, src.pick(agents), calls)
        if k < 50 or not calls:
            return self.put()
        if k < 55:
            seq = src.pick(calls)
            extra = src.subset(self.config["extras"][h.calls[seq].queue], 50)
            return ("restage", seq, self.requirement(), src.chance(15), extra)
        if k < 62 or (len(calls) > 12 and src.chance(50)):
            return ("remove", src.pick(calls))
        if k < 82:
            seq = self.routable(h) if src.chance(60) else None
            if seq is None:
                seq = calls[-1] if src.chance(50) else src.pick(calls)  # often the newest
            rr = (None, *sorted(self.config["orders"].values()))
            return (
                "route_call",
                seq,
                self.instant(),
                src.pick(rr),
                src.chance(30),
                src.below(2**16),
            )
        if k < 95:
            then = src.pick(("keep", "sync", "requeue", "requeue"))
            return ("route_agent", src.pick(agents), src.chance(85), self.instant(), then)
        n = 1 + src.below(3)
        return ("match", tuple(src.pick(agents) for _ in range(n)), self.instant(), src.below(5))

    def routable(self, h: Harness) -> int | None:
        """A waiting call that some free agent has room for (the call a
        distributor routes is one that just became routable, so decisions
        among several candidates are common there)."""
        free = [aid for aid, on in sorted(h.free.items()) if on]
        if not free:
            return None
        agent = h.agents[self.src.pick(free)]
        seqs = [
            c.seq
            for q in agent.profile.queues
            for c in h.waiting[q]
            if agent.channel_free(c.channel)
        ]
        return self.src.pick(seqs) if seqs else None

    def profile(self) -> Op:
        src = self.src
        skills = {s: src.pick(LEVELS) for s in SKILLS if src.chance(70)}
        capacity = {
            c: src.pick((1, 1, 1, 2, 3, 0) if c != "voice" else (1, 1, 1, 1, 2, 0))
            for c in CHANNELS
            if src.chance(CHANNEL_ODDS[c])
        }
        exclusive = tuple(c for c in CHANNELS if src.chance(15 if c != "voice" else 50))
        memberships = tuple(
            (
                q,
                src.pick((1, 1, 2, 3)),
                src.pick(DELAYS),
                src.pick((0, 0, 1, -1)),
                src.pick(WEIGHTS),
            )
            for q in src.subset(self.names, 80)
        )
        return (
            "profile",
            src.pick(AGENTS),
            skills,
            capacity,
            exclusive,
            memberships,
            src.pick(REGIONS),
        )

    def sync(self, h: Harness, aid: str, calls: list[int]) -> Op:
        src = self.src
        sessions: tuple[tuple[int, str, str], ...] | None = None
        if src.chance(75):
            own = [c.value for c in h.agents[aid].profile.capacity] or list(CHANNELS)
            made: dict[int, tuple[int, str, str]] = {}
            for _ in range(src.pick((0, 0, 0, 0, 0, 1, 1, 2, 3))):
                if calls and src.chance(25):
                    seq = src.pick(calls)  # a call it also wraps up (a transfer)
                else:
                    seq = self.session_seq
                    self.session_seq += 1
                made[seq] = (seq, src.pick(own), src.pick(STATES))
            sessions = tuple(made.values())
        return (
            "sync",
            aid,
            src.chance(85),
            src.pick((0.0, 1.0, 2.5, self.t)),
            src.pick((0, 0, 1, 2)),
            src.pick((0.0, 30.0, 45.5)),
            src.chance(20),
            sessions,
        )

    def put(self) -> Op:
        src = self.src
        queue = src.pick(self.names)
        seq = self.seq
        self.seq += 1
        key = (*(src.pick(KEY_PARTS) for _ in range(self.keylen[queue])), seq)
        entered = max(0.0, self.t - src.pick(TIMES))
        preferred = src.pick(IDS) if src.chance(25) else None
        until = entered + src.pick(TIMES) if src.chance(80) else 0.0
        extra = src.subset(self.config["extras"][queue], 50)
        channel = src.pick(("voice", "voice", "voice", *CHANNELS))
        return (
            "put",
            seq,
            queue,
            self.requirement(),
            channel,
            key,
            entered,
            preferred,
            until,
            src.pick(REGIONS),
            src.chance(15),
            extra,
        )


# ------------------------------------------------------------ running


def replay(config: Config, ops: Sequence[Op]) -> Harness:
    """Apply ``ops`` to a fresh harness (raises Divergence)."""
    h = Harness(config)
    for op in ops:
        h.step(op)
    return h


def run_episode(
    src: Source, ops_out: list[Op], more: Callable[[], bool], config: Config
) -> Harness:
    """Generate and apply operations one by one while ``more()`` says go
    on, recording them in ``ops_out``."""
    h = Harness(config)
    gen = Generator(src, config)
    while more():
        op = gen.next(h)
        ops_out.append(op)
        h.step(op)
    return h


def shrink(config: Config, ops: list[Op], kind: str) -> list[Op]:
    """Delta debugging: drop chunks of operations while the same kind of
    divergence still happens."""

    def fails(candidate: list[Op]) -> bool:
        try:
            replay(config, candidate)
        except Divergence as exc:
            return exc.kind == kind
        return False

    n = 2
    while len(ops) >= 2:
        chunk = math.ceil(len(ops) / n)
        for i in range(0, len(ops), chunk):
            candidate = ops[:i] + ops[i + chunk :]
            if candidate and fails(candidate):
                ops = candidate
                n = max(n - 1, 2)
                break
        else:
            if chunk == 1:
                break
            n = min(len(ops), 2 * n)
    return ops


def reproduction(config: Config, ops: list[Op], kind: str, detail: str) -> str:
    lines = [
        f"# divergence ({kind}): {detail}",
        "# paste into REGRESSIONS in tests/test_core_differential.py:",
        "(",
        f"    {config!r},",
        "    [",
        *(f"        {op!r}," for op in ops),
        "    ],",
        "),",
    ]
    return "\n".join(lines)


def soak(
    steps: int,
    seed: int,
    ops_per_episode: int = 300,
    strategy: Strategy | None = None,
    report_every: float = 30.0,
    out: Callable[[str], None] = print,
) -> tuple[int, dict[str, int]]:
    """The seeded loop: episodes of ``ops_per_episode`` operations (episode
    k draws from seed ``seed * 2**32 + k``) until ``steps`` operations were
    checked. Returns (steps, stats); on a divergence prints the shrunk
    reproduction and raises it."""
    done = 0
    episode = 0
    stats: dict[str, int] = {}
    start = last = time.perf_counter()
    while done < steps:
        ep_seed = seed * 2**32 + episode
        src = RandomSource(ep_seed)
        config = gen_config(src, strategy)
        ops: list[Op] = []
        n = min(ops_per_episode, steps - done)
        try:
            h = run_episode(src, ops, lambda ops=ops, n=n: len(ops) < n, config)
        except Divergence as exc:
            out(
                f"DIVERGENCE at step {done + len(ops):,} (seed {seed}, episode {episode}, "
                f"episode seed {ep_seed}, op {len(ops) - 1}): {exc}"
            )
            small = shrink(config, ops, exc.kind)
            try:
                replay(config, small)
            except Divergence as final:
                exc = final
            out(reproduction(config, small, exc.kind, str(exc)))
            raise exc from None
        done += len(ops)
        episode += 1
        for k, v in h.stats.items():
            stats[k] = stats.get(k, 0) + v
        now = time.perf_counter()
        if now - last >= report_every:
            last = now
            out(f"steps {done:,}  episodes {episode:,}  {done / (now - start):,.0f} steps/s")
    elapsed = time.perf_counter() - start
    out(
        f"done: {done:,} steps checked in {elapsed:,.1f} s ({done / max(elapsed, 1e-9):,.0f} "
        f"steps/s), {episode:,} episodes, seed {seed}"
    )
    return done, stats


# REGRESSIONS: (config, ops) pairs printed by a soak that found a divergence.
REGRESSIONS: list[tuple[Config, list[Op]]] = []


# ---------------------------------------------------------------- tests


def _native_available() -> bool:
    from acdcore import native_available

    return native_available()


pytestmark = pytest.mark.skipif(not _native_available(), reason="native extension not built")


@pytest.fixture(params=["native"], autouse=True)
def backend(request: pytest.FixtureRequest) -> str:
    """Overrides the suite-wide fixture: no Distributor here, one run."""
    return str(request.param)


@given(st.data())
def test_core_matches_reference(data: st.DataObject) -> None:
    src = DataSource(data)
    src.begin()
    config = gen_config(src)
    note(f"config = {config!r}")
    ops: list[Op] = []
    try:
        run_episode(src, ops, lambda: len(ops) < 300 and src.more(), config)
    finally:
        note("ops = [\n" + "".join(f"    {op!r},\n" for op in ops) + "]")
        STEPS["CoreDifferential"] = STEPS.get("CoreDifferential", 0) + len(ops)


@pytest.mark.parametrize("strategy", STRATEGIES, ids=[s.value for s in STRATEGIES])
def test_seeded_loop_every_strategy(strategy: Strategy) -> None:
    """The soak's own loop, every queue on one strategy (so each of the nine
    is checked on every run); ACDCORE_CORE_DIFF_STEPS scales it."""
    steps = int(os.environ.get("ACDCORE_CORE_DIFF_STEPS", "20000"))
    done, stats = soak(
        steps, seed=STRATEGIES.index(strategy), strategy=strategy, out=lambda s: None
    )
    assert done == steps
    STEPS["CoreDifferential (seeded)"] = STEPS.get("CoreDifferential (seeded)", 0) + done
    # The runs reach the interesting cases, not just empty queues.
    assert stats.get(f"route_call {strategy.value}", 0) > steps // 20
    assert stats.get("route_agent took", 0) > 0
    assert stats.get("route_agent held back", 0) > 0
    assert stats.get("route_call none, held back", 0) > 0
    assert stats.get("route_call tie-break among several", 0) > 0


def test_regressions() -> None:
    for config, ops in REGRESSIONS:
        replay(config, ops)


def test_first_open_bucket_far_down_the_active_list() -> None:
    """Many classes waiting in one queue, the oldest ones closed to the
    agents (a skill they lack, or a minimum above theirs): the first bucket
    open to an agent is past the first eight entries of the queue's active
    list, which the core's search tests at once (first_open), or in the
    entries after the last full eight. The random walk above rarely has
    more than a few classes waiting in a queue; here every agent's pick is
    checked against the reference all the same."""
    orders = {aid: 3 * i for i, aid in enumerate(IDS)}
    config: Config = {
        "queues": ["sales"],
        "strategies": [Strategy.LONGEST_IDLE.value],
        "keylen": [1],
        "extras": {"sales": []},
        "orders": orders,
    }
    closed = [(("billing", 9), ("tech", m)) for m in MINIMA]
    closed += [(("billing", m), ("spanish", 1), ("tech", 1)) for m in MINIMA]
    closed += [(("billing", 1), ("spanish", m)) for m in MINIMA]
    opened = [(("billing", b), ("tech", t)) for b in (1, 3, 5) for t in (1, 3, 5)]
    ops: list[Op] = []
    seq = 0
    for n_closed in (3, 9, 12):  # more closed classes each round: the first open further down
        for req in [*closed[:n_closed], *opened]:
            ops.append(
                (
                    "put",
                    seq,
                    "sales",
                    req,
                    "voice",
                    (float(seq), seq),
                    0.0,
                    None,
                    0.0,
                    None,
                    False,
                    (),
                )
            )
            seq += 1
        for i, aid in enumerate(AGENTS[:4]):
            skills = {"billing": 5, "tech": 5 if i % 2 else 3}
            member = (("sales", 1, 0.0, 0, 1),)
            ops.append(("profile", aid, skills, {"voice": 1}, (), member, None))
            ops.append(("sync", aid, True, float(i), 0, 0.0, False, ()))
        ops.append(("match", tuple(AGENTS[:3]), 10.0, 8))
        ops.append(("route_agent", AGENTS[3], True, 10.0, "keep"))
    replay(config, ops)


def test_a_broken_reference_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzz can fail: with the reference's longest-idle tie-break
    reversed, the seeded loop reports a divergence within a few steps."""
    import acdcore.router

    real = acdcore.router.select_agents

    def reversed_ties(queue: QueueRecord, call: CallRecord, cands: Any, rng: Any) -> Any:
        if queue.config.strategy is Strategy.LONGEST_IDLE and len(cands) > 1:
            return [max(cands, key=lambda a: (a.idle_since, a.order))]
        return real(queue, call, cands, rng)

    monkeypatch.setattr(sys.modules[__name__], "select_agents", reversed_ties)
    with pytest.raises(Divergence, match="route_call chosen"):
        soak(20_000, seed=5, strategy=Strategy.LONGEST_IDLE, out=lambda s: None)


# ------------------------------------------------------------ the soak


def _load_native(path: str) -> Any:
    """A cffi extension module loaded from ``path`` (a copy of, or an
    alternative to, the built ``acdcore._native._acdnative``)."""
    name = "acdcore._native._acdnative"
    loader = importlib.machinery.ExtensionFileLoader(name, path)
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ops-per-episode", type=int, default=300)
    parser.add_argument("--strategy", choices=[s.value for s in Strategy], default=None)
    parser.add_argument("--report-every", type=float, default=60.0, help="seconds")
    parser.add_argument(
        "--native",
        help="the extension module file to test (default: a private copy of the built one)",
    )
    args = parser.parse_args(argv)
    import acdcore._native.core as core_module

    path = args.native
    if path is None:
        import acdcore._native

        here = os.path.dirname(acdcore._native.__file__)
        built = next(
            f
            for f in sorted(os.listdir(here))
            if f.startswith("_acdnative.") and f.endswith((".so", ".pyd"))
        )
        path = os.path.join(tempfile.mkdtemp(prefix="acd-soak-"), built)
        shutil.copy2(os.path.join(here, built), path)
    with open(path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    module = _load_native(path)
    core_module.load = lambda: module  # type: ignore[assignment]
    print(
        f"native module {path} (sha256 {digest}), seed {args.seed}, steps {args.steps:,}",
        flush=True,
    )
    strategy = Strategy(args.strategy) if args.strategy else None

    def out(line: str) -> None:
        print(line, flush=True)

    try:
        _, stats = soak(
            args.steps, args.seed, args.ops_per_episode, strategy, args.report_every, out
        )
    except Divergence:
        return 1
    for k in sorted(stats):
        out(f"  {k}: {stats[k]:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
