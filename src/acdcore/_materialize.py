"""The engine's state as the reference's records: what views, ``snapshot()``
and ``check()`` read when the C engine holds the state (internal).

The C engine (``_native/acd_engine.h``) keeps calls, agents, sessions and
deadlines as numbers; the façade keeps what only it knows (ids, profiles,
attributes, sort keys, pause reasons, the callers' last agents).
:func:`materialize` joins the two into a Python :class:`Distributor` (the
python backend) holding exactly the records the Python handlers would hold
after the same events: the same calls in the same states and queue order,
the same agents and sessions (in the order they were opened), the same live
deadlines with the same scheduling numbers, the same counters and random
generator state. Every existing read (views, ``explain``, ``snapshot()``,
``check()``) then runs on it unchanged, so the two implementations are read
by one code path, and a distributor may hand its state over to the Python
handlers for an event past the engine's numbers.

Dead deadlines are left out: liveness only ever goes from true to false, so
a deadline dropped early changes no decision (``_deadlines.timer_live``).

Cost: O(calls + agents x sessions + deadlines), plus the queues' orders
(O(n log n) in waiting calls); it reads the engine and changes nothing.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ._calls import region_of
from ._deadlines import AGENT_WAKE, ANNOUNCE, CALL_RECHECK, MAX_WAIT, RETRY, RING, STAGE, WRAP
from ._state import (
    _NO_OFFERS,
    AgentRecord,
    CallRecord,
    CallState,
    Session,
    SessionState,
    Stage,
)
from .config import AgentProfile, QueueConfig
from .policies import SortKey
from .skills import Channel, SkillRequirement

if TYPE_CHECKING:
    from ._native.engine import NativeEngine
    from .distributor import Distributor
    from .plans import RoutingPlan

__all__ = ["AgentFacts", "CallFacts", "Heard", "materialize"]

CHANNEL_OF: tuple[Channel, ...] = tuple(Channel)
"""Channels by the engine's index (``core.CHANNELS`` is the inverse)."""

CALL_STATES = {
    1: CallState.WAITING,
    2: CallState.RINGING,
    3: CallState.CONNECTED,
    4: CallState.CALLBACK_PENDING,
}
SESSION_STATES = {1: SessionState.RINGING, 2: SessionState.CONNECTED, 3: SessionState.WRAP_UP}


@attrs.define(slots=True)
class CallFacts:
    """What the façade knows of a live call and the engine does not."""

    call_id: str
    channel: Channel
    attributes: Mapping[str, Any]
    requirement: SkillRequirement
    priority: int
    emergency: bool
    preferred_agent: str | None
    key: SortKey
    last_agent: str | None
    rule: str = "default"
    transfers: int = 0
    # A plan rule's relaxation stages as resolved at arrival (the engine
    # knows which is current); None for one plain stage (``requirement``).
    stages: tuple[Stage, ...] | None = None
    moves: int = 0  # times a plan's queue exit moved it (each re-stages it)


@attrs.define(slots=True)
class Heard:
    """What a live call has heard, which follows the estimates and so is
    the façade's (``_engine_hooks.speak``): the CallRecord fields of the
    same names. Kept only for a call that has heard something or been
    weighed for a callback offer; ``number`` is a callback's number (the
    number the customer is called back at)."""

    announced: int = 0
    last_position: int = 0
    last_wait: float = -1.0
    callback_offered: bool = False
    number: str | None = None


@attrs.define(slots=True)
class AgentFacts:
    """What the façade knows of an agent ever logged in: id, profile, rank
    of first login and pause reason (the engine only has a flag)."""

    agent_id: str
    profile: AgentProfile
    order: int
    paused: str | None = None


def materialize(
    queues: Sequence[QueueConfig],
    engine: NativeEngine,
    calls: Mapping[int, CallFacts],
    agents: Mapping[int, AgentFacts],
    callers: Sequence[tuple[str, str]] = (),
    remember_callers: int = 10_000,
    ended: Mapping[int, tuple[str, float]] | None = None,
    only: tuple[Collection[int], Collection[int]] | None = None,
    transfers: int = 0,
    plan: RoutingPlan | None = None,
    heard: Mapping[int, Heard] | None = None,
) -> Distributor:
    """A python-backend distributor holding the engine's state as records.

    ``calls`` maps each live call's sequence number to its façade facts,
    ``agents`` each agent index (of agents ever logged in) to theirs;
    ``callers`` are the remembered (caller, last agent) pairs, oldest first;
    ``ended`` maps the sequence numbers of calls that ended recently to
    their ids (and end instants): an agent wrapping one up still names it.

    ``only`` = (call sequence numbers, agent indices) makes a partial
    distributor holding just those calls and agents, with no queue order,
    free sets or deadlines: enough for an event's check to raise the
    reference's error, or for one view. Cost: O(their sessions and offers),
    plus the construction of a distributor. ``plan`` is the distributor's
    routing plan (one the engine covers), or ``None``. ``heard`` maps
    the sequence numbers of calls that have heard announcements or been
    weighed for a callback offer to what they heard.
    """
    from .distributor import Distributor

    d = Distributor(list(queues), plan=plan, backend="python", remember_callers=remember_callers)
    scal = engine.scalars()
    d._now = scal.now
    d._timer_seq = scal.timer_seq
    d._call_seq = scal.call_seq
    d._arrived = scal.arrived
    d._transfers = transfers
    d._outcomes[CallState.COMPLETED] = scal.completed
    d._outcomes[CallState.ABANDONED] = scal.abandoned
    d._outcomes[CallState.REJECTED] = scal.rejected
    d._outcomes[CallState.OVERFLOWED] = scal.overflowed
    d._outcomes[CallState.SELF_SERVICE] = scal.self_service
    d._outcomes[CallState.CALLBACK_FAILED] = scal.callback_failed
    d._outcomes[CallState.CALLBACK_CANCELLED] = scal.callback_cancelled
    rng = random.Random()
    rng.setstate(engine.rng_state())
    d._rng = rng
    for caller, agent_id in callers:
        d._callers[caller] = agent_id
    qnames = [q.name for q in queues]

    # Agents, in order of first login (the records' insertion order).
    guarded = plan is not None and plan.load_guard is not None
    by_index: dict[int, AgentRecord] = {}
    id_of = {i: f.agent_id for i, f in agents.items()}  # every agent ever logged in
    chosen = agents.items() if only is None else [(i, agents[i]) for i in only[1] if i in agents]
    for idx, facts in sorted(chosen, key=lambda kv: kv[1].order):
        ex = engine.export_agent(idx)
        rec = AgentRecord(agent_id=facts.agent_id, order=facts.order, profile=facts.profile)
        rec.set_profile(facts.profile)
        rec.logged_in = ex.logged_in
        rec.paused = facts.paused if ex.paused else None
        rec.pending_logout = ex.pending_logout
        rec.not_before = ex.not_before
        rec.idle_since = ex.idle_since
        rec.last_call_end = ex.last_call_end
        rec.calls_taken = ex.calls_taken
        rec.talk_time = ex.talk_time
        rec.misses = ex.misses
        rec.wake_at = ex.wake_at
        rec.wake_timer = ex.wake_timer
        rec.staffed = ex.staffed
        if guarded:
            rec.answers = engine.answers(idx)
        d._agents[facts.agent_id] = rec
        by_index[idx] = rec
        id_of[idx] = facts.agent_id
    for idx, rec in by_index.items():
        for seq, channel, queue, state, until in engine.export_sessions(idx):
            facts_of = calls.get(seq)
            rec.sessions[seq] = Session(
                call_id=facts_of.call_id if facts_of is not None else (ended or {})[seq][0],
                channel=CHANNEL_OF[channel],
                queue=qnames[queue],
                state=SESSION_STATES[state],
                until=until,
                seq=seq,
            )

    # Calls, in arrival order (the records' insertion order).
    by_seq: dict[int, CallRecord] = {}
    if only is None:
        exported = engine.export_calls()
    else:
        exported = [x for x in map(engine.export_call, sorted(only[0])) if x is not None]
    for cx in exported:
        cf = calls[cx.seq]
        stages = cf.stages or (Stage(cf.requirement, (), False, None),)
        stage = stages[cx.stage]
        crec = CallRecord(
            call_id=cf.call_id,
            seq=cx.seq,
            queue=qnames[cx.queue],
            channel=cf.channel,
            attributes=cf.attributes,
            requirement=stage.requirement,
            priority=cf.priority,
            emergency=cf.emergency,
            preferred_agent=cf.preferred_agent,
            arrived=cx.arrived,
            entered=cx.entered,
            key=cf.key,
            state=CALL_STATES[cx.state],
            offers=[id_of[a] for a in cx.offers] if cx.offers else _NO_OFFERS,
            ring_round=cx.ring_round,
            agent=None if cx.agent < 0 else id_of[cx.agent],
            answered_at=cx.answered_at,
            last_agent=cf.last_agent,
            rule=cf.rule,
            stages=stages,
            stage=cx.stage,
            stage_gen=1 + cf.transfers + cf.moves,  # set at arrival, then at each move
            offered_at=cx.offered_at,
        )
        crec.region = region_of(cf.attributes)  # as the Python handlers keep it
        crec.preferred_until = cx.preferred_until
        crec.transfers = cf.transfers
        crec.recheck_at = cx.recheck_at
        crec.recheck_timer = cx.recheck_timer
        crec.stage_timer = cx.stage_timer
        crec.max_wait_timer = cx.max_wait_timer
        crec.callback = cx.callback
        crec.attempts = cx.attempts
        crec.announce_timer = cx.announce_timer
        crec.next_announce = cx.next_announce
        h = heard.get(cx.seq) if heard else None
        if h is not None:
            crec.announced = h.announced
            crec.last_position = h.last_position
            crec.last_wait = h.last_wait
            crec.callback_offered = h.callback_offered
            crec.number = h.number
        if stage.extra_queues:
            crec.extra_queues = stage.extra_queues
        if stage.regional:
            crec.regional = True
        d._calls[cf.call_id] = crec
        by_seq[cx.seq] = crec

    if only is not None:
        return d

    # Queues: members in login order, free agents, waiting calls by key.
    for qi, name in enumerate(qnames):
        q = d._queues[name]
        qs = engine.queue_state(qi)
        q.rr_last = qs.rr_last
        q.surge = engine.surge(qi)
        q.sampled = engine.sampled(qi)
        for rec in d._agents.values():
            if name in rec.profile.queues:
                if rec.logged_in:
                    q.members[rec.agent_id] = None
                if rec.staffed:
                    q.staffed += 1
        for idx in sorted(qs.free, key=lambda i: by_index[i].order):
            q.free[id_of[idx]] = None
    for crec in by_seq.values():
        if crec.state is CallState.WAITING:
            d._queues[crec.queue].waiting.insert_own(crec)

    # Live deadlines, each naming the record (and token) Python would hold.
    timers: list[tuple[float, int, int, Any, Any]] = []
    for when, tseq, kind, ref, token in engine.export_deadlines():
        if kind == RING:
            timers.append((when, tseq, kind, by_seq[ref], token))
        elif kind == WRAP:
            agent = by_index[ref]
            timers.append((when, tseq, kind, agent, agent.sessions[token]))
        elif kind in (STAGE, RETRY):  # (a stage index; the attempts made)
            timers.append((when, tseq, kind, by_seq[ref], token))
        elif kind in (MAX_WAIT, ANNOUNCE):
            timers.append((when, tseq, kind, by_seq[ref], None))
        elif kind in (AGENT_WAKE, CALL_RECHECK):
            rec_any: Any = by_index[ref] if kind == AGENT_WAKE else by_seq[ref]
            timers.append((when, tseq, kind, rec_any, None))
        else:  # pragma: no cover - the engine arms no other kind
            raise AssertionError(f"the engine exported a deadline of kind {kind}")
    heapq.heapify(timers)
    d._timers = timers
    return d
