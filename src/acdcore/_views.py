"""Read-only views of the distributor: calls, agents, queues, counts, explanations and the snapshot document. Pure reads.

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from . import (
    _agents,
    _calls,
    _checks,
)
from ._state import (
    LIVE,
    AgentState,
    CallState,
)
from .errors import (
    UnknownQueue,
)
from .router import eligible_at, skill_eligible
from .skills import (
    Channel,
)

if TYPE_CHECKING:
    from .distributor import Distributor


@attrs.frozen
class Explanation:
    """Why a call is where it is: its rule, its current relaxation step and
    requirement, and for a waiting call why no agent has it yet.

    ``reason`` is one of ``"ringing"``, ``"connected"``,
    ``"no-agent-logged-in"`` (nobody who could serve its queue is logged in),
    ``"no-eligible-agent"`` (agents are logged in but none meets the current
    requirement), ``"all-busy"`` (eligible agents are busy, paused or held by
    their no-answer delay), ``"delayed"`` (a free eligible agent is held back
    by a membership delay or a preferred-agent reservation until
    ``delayed_until``).
    """

    call_id: str
    queue: str
    rule: str
    state: CallState
    step: int
    steps: int
    requirement: tuple[tuple[str, int], ...]
    extra_queues: tuple[str, ...]
    regional: bool
    next_relaxation_at: float | None
    reason: str
    delayed_until: float | None = None


@attrs.frozen
class CallView:
    """A read-only picture of a live call."""

    call_id: str
    queue: str
    state: CallState
    channel: Channel
    priority: int
    emergency: bool
    arrived: float
    position: int | None
    offered_to: tuple[str, ...]
    agent: str | None
    rule: str = "default"
    transfers: int = 0
    callback: bool = False
    attempts: int = 0


@attrs.frozen
class AgentView:
    """A read-only picture of an agent and the counters strategies use."""

    agent_id: str
    state: AgentState
    paused_reason: str | None
    pending_logout: bool
    calls: tuple[str, ...]
    calls_taken: int
    talk_time: float
    idle_since: float
    last_call_end: float | None
    consecutive_misses: int
    not_before: float


def call_view(d: Distributor, call_id: str) -> CallView:
    """The body of :meth:`Distributor.call`."""
    c = _calls.live_call(d, call_id)
    position = None
    if c.state is CallState.WAITING:
        position = d._queues[c.queue].waiting.position(c)
    return CallView(
        call_id=c.call_id,
        queue=c.queue,
        state=c.state,
        channel=c.channel,
        priority=c.priority,
        emergency=c.emergency,
        arrived=c.arrived,
        position=position,
        offered_to=tuple(c.offers),
        agent=c.agent,
        rule=c.rule,
        transfers=c.transfers,
        callback=c.callback,
        attempts=c.attempts,
    )


def live_call_ids(d: Distributor) -> list[str]:
    """The body of :meth:`Distributor.live_calls`."""
    calls = d._calls
    return sorted(calls, key=lambda cid: calls[cid].seq)


def agent_view(d: Distributor, agent_id: str) -> AgentView:
    """The body of :meth:`Distributor.agent`."""
    a = _agents.known_agent(d, agent_id)
    return AgentView(
        agent_id=a.agent_id,
        state=a.state(),
        paused_reason=a.paused,
        pending_logout=a.pending_logout,
        calls=tuple(s.call_id for s in a.sessions.values()),
        calls_taken=a.calls_taken,
        talk_time=a.talk_time,
        idle_since=a.idle_since,
        last_call_end=a.last_call_end,
        consecutive_misses=a.misses,
        not_before=a.not_before,
    )


def waiting_ids(d: Distributor, queue: str) -> list[str]:
    """The body of :meth:`Distributor.waiting`."""
    q = d._queues.get(queue) if isinstance(queue, str) else None
    if q is None:
        raise UnknownQueue(f"no queue named {queue!r}")
    return [c.call_id for c in q.waiting]


def count_calls(d: Distributor) -> dict[str, int]:
    """The body of :meth:`Distributor.counts`."""
    live = dict.fromkeys(LIVE, 0)
    for c in d._calls.values():
        live[c.state] += 1
    out = {"arrived": d._arrived}
    for state, n in live.items():
        out[state.value] = n
    for state, n in d._outcomes.items():
        out[state.value] = n
    return out


def explain_call(d: Distributor, call_id: str) -> Explanation:
    """The body of :meth:`Distributor.explain`."""
    call = _calls.live_call(d, call_id)
    stage = call.stages[call.stage]
    nxt = stage.expires_at if call.stage < len(call.stages) - 1 else None
    reason = call.state.value
    delayed_until = None
    if call.state is CallState.WAITING:
        pool = [
            d._agents[aid]
            for qname in (call.queue, *call.extra_queues)
            for aid in d._queues[qname].members
        ]
        eligible = [a for a in pool if skill_eligible(a, call)]
        if not pool:
            reason = "no-agent-logged-in"
        elif not eligible:
            reason = "no-eligible-agent"
        else:
            q = d._queues[call.queue]
            times = [eligible_at(a, call, q, d._now) for a in eligible]
            later = [t for t in times if t is not None]
            if later:
                reason, delayed_until = "delayed", min(later)
            else:
                reason = "all-busy"
    return Explanation(
        call_id=call.call_id,
        queue=call.queue,
        rule=call.rule,
        state=call.state,
        step=call.stage,
        steps=len(call.stages),
        requirement=call.requirement.items(),
        extra_queues=call.extra_queues,
        regional=call.regional,
        next_relaxation_at=nxt,
        reason=reason,
        delayed_until=delayed_until,
    )


def count_agent_states(d: Distributor) -> dict[str, int]:
    """The body of :meth:`Distributor.agent_states`."""
    out = {s.value: 0 for s in AgentState}
    for a in d._agents.values():
        out[a.state().value] += 1
    return out


def snapshot_dict(d: Distributor) -> dict[str, Any]:
    """The body of :meth:`Distributor.snapshot`."""
    return {
        "now": d._now,
        "next_deadline": d.next_deadline(),
        "deadlines": _checks.live_deadlines(d),
        "counts": count_calls(d),
        "rng": d._rng.getstate(),
        "callers": list(d._callers.items()),
        "transfers": d._transfers,
        "queues": {
            name: {
                "waiting": [c.call_id for c in q.waiting],
                "members": sorted(q.members),
                "free": sorted(q.free),
                "rr_last": q.rr_last,
                "surge": q.surge,
                "staffed": q.staffed,
            }
            for name, q in d._queues.items()
        },
        "calls": {
            cid: (
                c.state.value,
                c.queue,
                c.key,
                tuple(c.offers),
                c.agent,
                c.answered_at,
                c.ring_round,
                c.recheck_at,
                c.entered,
                c.last_agent,
                c.callback,
                c.number,
                c.attempts,
                c.callback_offered,
                c.announced,
                c.next_announce,
            )
            for cid, c in sorted(d._calls.items())
        },
        "agents": {
            aid: {
                "order": a.order,
                "profile": a.profile.summary(),
                "state": a.state().value,
                "logged_in": a.logged_in,
                "paused": a.paused,
                "pending_logout": a.pending_logout,
                "not_before": a.not_before,
                "sessions": {
                    seq: (s.call_id, s.channel.value, s.queue, s.state.value, s.until)
                    for seq, s in sorted(a.sessions.items())
                },
                "idle_since": a.idle_since,
                "last_call_end": a.last_call_end,
                "calls_taken": a.calls_taken,
                "talk_time": a.talk_time,
                "misses": a.misses,
                "wake_at": a.wake_at,
                "answers": list(a.answers),
            }
            for aid, a in sorted(d._agents.items())
        },
    }


# ------------------------------------------------------------- invariants
