"""Matching: which free agent(s) take a routable call, and which waiting calls an agent who gained capacity takes.

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import (
    _agents,
    _deadlines,
    _offers,
)
from ._state import (
    AgentRecord,
    CallRecord,
)
from .router import draw, membership_for, opens_at, select_agents

if TYPE_CHECKING:
    from .distributor import Distributor


def route_call(d: Distributor, call: CallRecord) -> None:
    """Offer a waiting call to the best free eligible agent(s), or schedule
    a recheck for when a delay that holds back a free agent ends."""
    q = d._queues[call.queue]
    now = d._now
    if d._nat is not None:
        chosen, weights, soonest = d._nat.route_call(call, now, q.rr_last)
        if chosen:
            if call.preferred_agent is None or chosen[0].agent_id != call.preferred_agent:
                chosen = draw(q.config.strategy, chosen, weights, d._rng)
            _offers.offer(d, call, chosen)
        elif soonest < math.inf:
            _deadlines.recheck_call(d, call, soonest)
        return
    agents = d._agents
    qname = call.queue
    channel = call.channel
    candidates: list[AgentRecord] = []
    earliest = math.inf
    # Every agent in a free set is offerable (check() verifies it).
    for aid in pool_of(d, call):
        agent = agents[aid]
        if not agent.channel_free(channel):
            continue
        membership = agent.profile.queues.get(qname) or membership_for(agent, call)
        assert membership is not None
        at = opens_at(agent, membership, call, q, now)
        if at is None:
            continue
        if at <= now:
            candidates.append(agent)
        elif at < earliest:
            earliest = at
    if candidates:
        guard = d._plan.load_guard if d._plan is not None else None
        if guard is not None and len(candidates) > 1:
            trusted = [a for a in candidates if not _agents.load_guarded(a, guard)]
            if trusted:
                candidates = trusted
        _offers.offer(d, call, select_agents(q, call, candidates, d._rng))
    elif earliest < math.inf:
        _deadlines.recheck_call(d, call, earliest)


def pool_of(d: Distributor, call: CallRecord) -> Iterable[str]:
    """The free agents who may serve the call: its queue's, then those of
    its current extra queues (each once)."""
    own = d._queues[call.queue].free
    if not call.extra_queues:
        return own
    pool = dict(own)
    for extra in call.extra_queues:
        pool.update(d._queues[extra].free)
    return pool


def route_agent(d: Distributor, agent: AgentRecord) -> None:
    """While the agent has capacity, give it the best waiting call of the
    queues it serves; schedule a wake-up if a delay holds one back."""
    now = d._now
    nat = d._nat
    if nat is not None:
        if not (
            agent.logged_in
            and agent.paused is None
            and not agent.pending_logout
            and agent.not_before <= now
        ):
            return  # the core would take nothing and wait for nothing
        while True:
            taken, soonest = nat.route_agent(agent, True, now)
            for call in taken:
                _offers.offer(d, call, [agent])
            if len(taken) < 64:
                break
        if soonest < math.inf:
            _deadlines.wake_agent(d, agent, soonest)
        return
    while agent.offerable(now):
        free = agent.free_channels()
        best: CallRecord | None = None
        best_rank: tuple[int, float, int] | None = None
        earliest = math.inf
        for qname, own in scan_list(d, agent):
            if own is not None and best_rank is not None and own.priority > best_rank[0]:
                continue
            q = d._queues[qname]
            waiting = q.waiting
            for call in waiting.ordered():
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
        if best is None:
            if earliest < math.inf:
                _deadlines.wake_agent(d, agent, earliest)
            return
        _offers.offer(d, best, [agent])


def scan_list(d: Distributor, agent: AgentRecord) -> Iterable[tuple[str, Any]]:
    """Queues an agent looks in for work: its own (with its membership),
    then queues whose relaxation steps may borrow its queues' agents (with
    ``None``: the membership is found per call). Without borrowing (no
    plan steps add queues) this is the profile's own view, with no copy."""
    own = agent.profile.queues
    if not d._borrowers:
        return own.items()
    out: list[tuple[str, Any]] = list(own.items())
    seen = set(own)
    for qname in own:
        for borrower in d._borrowers.get(qname, ()):
            if borrower not in seen:
                seen.add(borrower)
                out.append((borrower, None))
    return out
