"""The skill router: who may take a call, and which of them gets it.

Eligibility is a pure function of an agent, a call and the time; selection
applies the queue's :class:`~acdcore.config.Strategy` to the eligible free
agents. Both are used by the distributor and by its ``check()``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from ._state import AgentRecord, CallRecord, QueueRecord
from .config import QueueMembership, Strategy

__all__ = ["draw", "eligible_at", "membership_for", "opens_at", "select_agents", "skill_eligible"]


def membership_for(agent: AgentRecord, call: CallRecord) -> QueueMembership | None:
    """How the agent may serve the call: its membership of the call's queue,
    else of the first of the call's extra queues (added by a relaxation step)
    that it serves; ``None`` when it serves none of them."""
    queues = agent.profile.queues
    m = queues.get(call.queue)
    if m is not None:
        return m
    for extra in call.extra_queues:
        m = queues.get(extra)
        if m is not None:
            return m
    return None


def skill_eligible(agent: AgentRecord, call: CallRecord) -> bool:
    """True when the agent may serve the call's queue (directly or through an
    extra queue), has its channel, meets its current skill requirement and,
    for a regional step, is in the caller's region (ignoring state, capacity
    and time)."""
    return (
        membership_for(agent, call) is not None
        and agent.profile.capacity.get(call.channel, 0) > 0
        and call.requirement.met_by(agent.skills)
        and (not call.regional or agent.profile.region == call.region)
    )


def eligible_at(
    agent: AgentRecord, call: CallRecord, queue: QueueRecord, now: float
) -> float | None:
    """The earliest instant at which ``agent`` may be offered ``call``, given
    the current state; ``None`` when only a state change (not time) could make
    it eligible.

    Returns ``now`` when eligible now. A later instant comes from the agent's
    membership delay for the queue (``entered + delay``) or from the call's
    reservation for its preferred agent (``preferred_until``).
    Cost: O(k) for k required skills plus O(sessions).
    """
    if not agent.offerable(now):
        return None
    membership = membership_for(agent, call)
    if membership is None:
        return None
    if not agent.channel_free(call.channel):
        return None
    return opens_at(agent, membership, call, queue, now)


def opens_at(
    agent: AgentRecord,
    membership: QueueMembership,
    call: CallRecord,
    queue: QueueRecord,
    now: float,
) -> float | None:
    """The part of :func:`eligible_at` that depends on the call: skills, the
    membership delay and the preferred-agent reservation. The caller has
    already established that the agent is offerable, serves the queue with
    ``membership`` and has the call's channel free (hot loops hoist those
    checks out of their scan). Cost: O(k) for k required skills.
    """
    if call.regional and agent.profile.region != call.region:
        return None
    if agent.sessions and agent.serving(call.seq):  # wrapping up this very call (a transfer)
        return None
    skills = agent.skills
    for name, minimum in call.requirement.items():
        if skills.get(name, 0) < minimum:
            return None
    at = now
    delay = membership.delay
    if delay > 0:
        opens = call.entered + delay
        if opens > at:
            at = opens
    preferred = call.preferred_agent
    if preferred is not None and preferred != agent.agent_id:
        opens = call.preferred_until
        if opens > at:
            at = opens
    return at


def _membership(agent: AgentRecord, call: CallRecord) -> QueueMembership:
    m = membership_for(agent, call)
    assert m is not None
    return m


def select_agents(
    queue: QueueRecord,
    call: CallRecord,
    candidates: Sequence[AgentRecord],
    rng: random.Random,
) -> list[AgentRecord]:
    """Apply the queue's strategy to ``candidates`` (free, eligible now, at
    least one). Returns the agents to offer the call to: one agent, or every
    candidate for ring-all. A free preferred agent always wins.

    Cost: O(c log c) for c candidates.
    """
    if call.preferred_agent is not None:
        for a in candidates:
            if a.agent_id == call.preferred_agent:
                return [a]
    strategy = queue.config.strategy
    # Min-key strategies end their key with the agent order, so they need no
    # sort; the others draw or offer in agent order.
    if strategy is Strategy.LONGEST_IDLE:
        return [min(candidates, key=lambda a: (a.idle_since, a.order))]
    if strategy is Strategy.FEWEST_CALLS:
        return [min(candidates, key=lambda a: (a.calls_taken, a.idle_since, a.order))]
    if strategy is Strategy.LEAST_TALK_TIME:
        return [min(candidates, key=lambda a: (a.talk_time, a.idle_since, a.order))]
    if strategy is Strategy.ROUND_ROBIN:
        last = queue.rr_last
        if last is None:
            return [min(candidates, key=lambda a: a.order)]
        # The next agent after the last one offered, wrapping around.
        return [min(candidates, key=lambda a: (a.order <= last, a.order))]
    if strategy is Strategy.LINEAR:
        return [min(candidates, key=lambda a: (_membership(a, call).position, a.order))]
    if strategy is Strategy.MOST_SKILLED:
        req = call.requirement
        return [
            min(
                candidates,
                key=lambda a: (-req.proficiency_sum(a.skills), a.idle_since, a.order),
            )
        ]
    ordered = sorted(candidates, key=lambda a: a.order)
    weights = [_membership(a, call).weight for a in ordered]
    return draw(strategy, ordered, weights, rng)


def draw(
    strategy: Strategy,
    ordered: list[AgentRecord],
    weights: Sequence[int],
    rng: random.Random,
) -> list[AgentRecord]:
    """The offer list of the strategies that do not pick by a key: one agent
    drawn from ``ordered`` (candidates in agent order) for ``RANDOM``, one drawn
    with the membership ``weights`` for ``WEIGHTED_RANDOM``, all of them for
    ``RING_ALL``. Any other strategy has already chosen: ``ordered`` is
    returned as it is. Both backends draw here, from the injected RNG, so the
    draws are the same. Cost: O(c).
    """
    if strategy is Strategy.RANDOM:
        return [ordered[rng.randrange(len(ordered))]]
    if strategy is Strategy.WEIGHTED_RANDOM:
        r = rng.randrange(sum(weights))
        for a, w in zip(ordered, weights, strict=True):
            if r < w:
                return [a]
            r -= w
        raise AssertionError("weighted draw fell off the end")  # pragma: no cover
    return ordered
