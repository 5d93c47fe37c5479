"""The deadline heap: arming a deadline, its liveness, dropping dead ones, and what each kind does when it fires.

Deadlines fire in one total order, fixed when they are armed: (instant, scheduling number).
A deadline is (instant, scheduling number, kind, record, token); it is stale (skipped) unless
the record it names still expects it (see :func:`timer_live`).

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

import heapq
import math
from typing import TYPE_CHECKING, Any

from . import (
    _agents,
    _calls,
    _experience,
    _offers,
    _queueing,
    _routing,
)
from ._state import (
    _NO_OFFERS,
    AgentRecord,
    CallRecord,
    CallState,
    Session,
    SessionState,
)
from .actions import (
    Action,
    CancelOffer,
)
from .plans import QueueRules

if TYPE_CHECKING:
    from .distributor import Distributor

# Timer kinds. A timer is (instant, sequence, kind, ref, token); it is stale
# (skipped) unless the record it names still expects it.
RING = 0
WRAP = 1
AGENT_WAKE = 2
CALL_RECHECK = 3
STAGE = 4
MAX_WAIT = 5
ANNOUNCE = 6
RETRY = 7

TIMER_NAMES = {
    RING: "ring", WRAP: "wrap", AGENT_WAKE: "wake", CALL_RECHECK: "recheck",
    STAGE: "stage", MAX_WAIT: "max-wait", ANNOUNCE: "announce", RETRY: "retry",
}  # fmt: skip
"""Each timer kind's name in views and snapshots."""


def max_wait_end(call: CallRecord, rules: QueueRules) -> float:
    """When a call's maximum wait in its queue ends: strictly after it entered
    (the next representable instant, if the clock is too large for the wait)."""
    assert rules.max_wait is not None
    end = call.entered + rules.max_wait
    return end if end > call.entered else math.nextafter(call.entered, math.inf)


def emit(d: Distributor, action: Action) -> None:
    d._actions.append(action)


def after(d: Distributor, delay: float) -> float:
    """The instant ``delay`` seconds from now. A positive delay always
    moves time forward: when it is below the clock's resolution at this
    instant (``now + delay == now``), the deadline is the next representable
    instant after now, so a repeating deadline can never fire at one
    instant forever."""
    now = d._now
    when = now + delay
    if delay > 0 and when <= now:
        when = math.nextafter(now, math.inf)
    return when


def schedule(d: Distributor, when: float, kind: int, rec: Any, token: Any = None) -> int:
    """Arm a deadline and return its scheduling number. Deadlines fire in
    the order (instant, scheduling number): the order they were armed in,
    among those due at one instant."""
    tseq = d._timer_seq
    d._timer_seq += 1
    heapq.heappush(d._timers, (when, tseq, kind, rec, token))
    return tseq


def timer_live(d: Distributor, tseq: int, kind: int, rec: Any, token: Any) -> bool:
    """True while the record a deadline names still expects it.

    Liveness only ever goes from true to false: each check compares with
    state that is never restored once changed (a scheduling number held by
    the record, a ring round, an attempt count, a session object), so
    dropping a dead deadline early, or late, changes no decision."""
    if kind == WRAP:
        s: Session = token
        return rec.sessions.get(s.seq) is s and s.state is SessionState.WRAP_UP
    if kind == AGENT_WAKE:
        return bool(rec.wake_timer == tseq)
    call: CallRecord = rec
    if d._calls.get(call.call_id) is not call:
        return False  # the call has ended (its id may be live again: another call)
    if kind == RING:
        return call.state is CallState.RINGING and call.ring_round == token
    if kind == STAGE:
        return call.stage_timer == tseq
    if kind == MAX_WAIT:
        return call.max_wait_timer == tseq
    if kind == ANNOUNCE:
        return call.announce_timer == tseq
    if kind == RETRY:
        return call.state is CallState.CALLBACK_PENDING and call.attempts == token
    return call.recheck_timer == tseq


def drop_dead_timers(d: Distributor) -> None:
    """Pop dead deadlines off the top of the heap, so that the earliest
    one left is live and :meth:`next_deadline` is a pure O(1) read. Runs
    at the end of every event and advance, the only times liveness changes."""
    timers = d._timers
    while timers:
        _, tseq, kind, rec, token = timers[0]
        if timer_live(d, tseq, kind, rec, token):
            return
        heapq.heappop(timers)


def fire(d: Distributor, kind: int, rec: Any, token: Any) -> None:
    if kind == RING:
        call: CallRecord = rec
        if call.callback:
            _experience.callback_unanswered(d, call)  # the customer did not pick up in time
            return
        missed = [d._agents[aid] for aid in call.offers]
        call.offers = _NO_OFFERS
        call.ring_round += 1
        for who in missed:
            del who.sessions[call.seq]
            emit(
                d,
                CancelOffer(
                    at=d._now,
                    call_id=call.call_id,
                    agent_id=who.agent_id,
                    reason="ring-timeout",
                ),
            )
            _offers.miss(d, who, call.queue)
        _queueing.requeue(d, call, "ring-timeout")
        for who in missed:
            _routing.route_agent(d, who)
    elif kind == WRAP:
        agent: AgentRecord = rec
        del agent.sessions[token.seq]
        agent.idle_since = d._now
        _agents.refresh(d, agent)
        _routing.route_agent(d, agent)
    elif kind == AGENT_WAKE:
        agent = rec
        agent.wake_at = None
        agent.wake_timer = -1
        _agents.refresh(d, agent)
        _routing.route_agent(d, agent)
    elif kind == STAGE:
        call = rec
        call.stage_timer = -1
        _calls.enter_stage(d, call, token)
        if call.state is CallState.WAITING:
            _routing.route_call(d, call)
    elif kind == MAX_WAIT:
        call = rec
        call.max_wait_timer = -1
        # A call ringing now exits when its offer ends (see _requeue).
        if call.state is CallState.WAITING:
            rules = _queueing.queue_rules(d, call.queue)
            assert rules is not None
            _queueing.exit_waiting(d, call, rules.on_max_wait, "max-wait")
    elif kind == ANNOUNCE:
        call = rec
        call.next_announce = None
        call.announce_timer = -1
        ann = d._queues[call.queue].config.announce
        if ann is None or call.callback or call.state is CallState.CONNECTED:
            return
        if call.state is CallState.WAITING:
            _experience.announce(d, call, ann.min_change)
        arm_announce(d, call, after(d, ann.every))
    elif kind == RETRY:
        _queueing.requeue(d, rec, "callback-retry")
    else:
        call = rec
        call.recheck_at = None
        call.recheck_timer = -1
        if call.state is CallState.WAITING:
            _routing.route_call(d, call)


def arm_announce(d: Distributor, call: CallRecord, when: float) -> None:
    call.next_announce = when
    call.announce_timer = schedule(d, when, ANNOUNCE, call)


def wake_agent(d: Distributor, agent: AgentRecord, when: float) -> None:
    if agent.wake_at is None or agent.wake_at <= d._now or when < agent.wake_at:
        agent.wake_at = when
        agent.wake_timer = schedule(d, when, AGENT_WAKE, agent)


def recheck_call(d: Distributor, call: CallRecord, when: float) -> None:
    if call.recheck_at is None or call.recheck_at <= d._now or when < call.recheck_at:
        call.recheck_at = when
        call.recheck_timer = schedule(d, when, CALL_RECHECK, call)
