"""Waiting in a queue and leaving it: enqueue and requeue, exits (max wait, leave-empty, plans' exits), moves between queues, surge mode and final outcomes.

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import (
    _calls,
    _deadlines,
    _estimates,
    _experience,
    _routing,
)
from ._state import (
    CallRecord,
    CallState,
    Stage,
)
from .actions import (
    Action,
    Overflow,
    Queued,
    Reject,
    SelfService,
    SurgeMode,
)
from .plans import Exit, QueueRules, RoutingPlan
from .skills import (
    SkillRequirement,
)

if TYPE_CHECKING:
    from .distributor import Distributor


def enqueue(d: Distributor, call: CallRecord, reason: str) -> None:
    q = d._queues[call.queue]
    call.state = CallState.WAITING
    position = q.waiting.insert_own(call)
    if d._nat is not None:
        d._nat.put(call)
    d._actions.append(
        Queued(
            at=d._now,
            call_id=call.call_id,
            queue=call.queue,
            position=position,
            reason=reason,
            rule=call.rule,
        )
    )
    if d._plan is None:
        return
    rules = queue_rules(d, call.queue)
    if (
        rules is not None
        and rules.max_wait is not None
        and call.max_wait_timer < 0
        and not call.callback
    ):
        # Armed once per queue entered; it stays armed while the call rings.
        call.max_wait_timer = _deadlines.schedule(
            d, _deadlines.max_wait_end(call, rules), _deadlines.MAX_WAIT, call
        )


def requeue(d: Distributor, call: CallRecord, reason: str) -> None:
    """Put a call whose offer ended back at its place, unless it has
    reached its queue's maximum wait meanwhile (then it exits)."""
    rules = queue_rules(d, call.queue)
    if rules is not None:
        if (
            rules.max_wait is not None
            and not call.callback
            and d._now >= _deadlines.max_wait_end(call, rules)
        ):
            exit_outcome_or_move(d, call, rules.on_max_wait, "max-wait")
            return
        if rules.leave_empty is not None and not d._queues[call.queue].members:
            exit_outcome_or_move(d, call, rules.leave_empty, "leave-empty")
            return
    enqueue(d, call, reason)
    _routing.route_call(d, call)
    if call.state is CallState.WAITING:
        _experience.start_announcements(d, call)


def queue_rules(d: Distributor, queue: str) -> QueueRules | None:
    return None if d._plan is None else d._plan.queues.get(queue)


def exit_waiting(d: Distributor, call: CallRecord, exit_: Exit, reason: str) -> None:
    """A waiting call leaves its queue through ``exit_``."""
    dequeue(d, call)
    exit_outcome_or_move(d, call, exit_, reason)


def dequeue(d: Distributor, call: CallRecord) -> None:
    """Take a waiting call out of its queue (and out of the native core)."""
    d._queues[call.queue].waiting.remove(call)
    if d._nat is not None:
        d._nat.remove(call)


def exit_outcome_or_move(d: Distributor, call: CallRecord, exit_: Exit, reason: str) -> None:
    """A live call that is in no queue and rings nobody leaves through
    ``exit_``: it moves to another queue, or ends with the exit's outcome."""
    if exit_.kind == "queue":
        assert exit_.target is not None
        _deadlines.emit(
            d,
            Overflow(
                at=d._now,
                call_id=call.call_id,
                queue=call.queue,
                target_queue=exit_.target,
                reason=reason,
            ),
        )
        move(d, call, exit_.target, None, keep_arrival=True)
        enter(d, call, "overflow")
        return
    for e in d._ests:
        e.on_left(call.queue, d._now, call.seq)
    del d._calls[call.call_id]
    exit_outcome(d, call.call_id, call.queue, exit_, reason)


def exit_outcome(d: Distributor, call_id: str, queue: str, exit_: Exit, reason: str) -> None:
    """Record a terminal exit (destination, self-service, reject)."""
    action, outcome = exit_action(d._plan, call_id, queue, exit_, reason, d._now)
    d._outcomes[outcome] += 1
    _deadlines.emit(d, action)


def exit_action(
    plan: RoutingPlan | None, call_id: str, queue: str, exit_: Exit, reason: str, now: float
) -> tuple[Action, CallState]:
    """What a terminal exit tells the adapter (``Overflow`` to a
    destination, ``SelfService`` with the next opening if asked, ``Reject``)
    and the outcome it counts under. Pure: the engine's façade words the
    exits it counts with it too."""
    if exit_.kind == "destination":
        overflow = Overflow(
            at=now, call_id=call_id, queue=queue, destination=exit_.target, reason=reason
        )
        return overflow, CallState.OVERFLOWED
    if exit_.kind == "self-service":
        callback_at = next_open_at(plan, queue, now) if exit_.callback_next_open else None
        service = SelfService(
            at=now, call_id=call_id, queue=queue, reason=reason, callback_at=callback_at
        )
        return service, CallState.SELF_SERVICE
    assert exit_.kind == "reject"
    return Reject(at=now, call_id=call_id, queue=queue, reason=reason), CallState.REJECTED


def next_open(d: Distributor, queue: str) -> float | None:
    return next_open_at(d._plan, queue, d._now)


def next_open_at(plan: RoutingPlan | None, queue: str, now: float) -> float | None:
    """When ``queue``'s business hours next open after ``now`` (``None``:
    it has no schedule)."""
    rules = None if plan is None else plan.queues.get(queue)
    if rules is None or rules.schedule is None:
        return None
    assert plan is not None
    return plan.schedules[rules.schedule].next_open(now)


def move(
    d: Distributor,
    call: CallRecord,
    queue: str,
    requirement: SkillRequirement | None,
    keep_arrival: bool,
) -> None:
    """Re-home a call (not waiting anywhere) in ``queue``: new key under
    that queue's policy (same sequence number, original arrival time
    unless ``keep_arrival`` is false), the given or the queue's
    requirement, one stage, no preferred agent."""
    if not keep_arrival:
        call.arrived = d._now
    call.queue = queue
    call.entered = d._now
    call.max_wait_timer = -1  # the new queue's own maximum wait applies
    call.key = _calls.policy_key(
        d,
        call.call_id,
        queue,
        call.seq,
        call.arrived,
        call.priority,
        call.emergency,
        call.attributes,
    )
    call.preferred_agent = None
    req = requirement if requirement is not None else d._queues[queue].config.requirement
    call.stages = (Stage(req, (), False, None),)
    call.stage_gen += 1
    _calls.enter_stage(d, call, 0)


def update_surge(d: Distributor) -> None:
    """Enter or leave surge mode per queue (with hysteresis)."""
    plan = d._plan
    if plan is None:
        return
    for name, rules in plan.queues.items():
        surge = rules.surge
        if surge is None:
            continue
        q = d._queues[name]
        n = len(q.waiting)
        if not q.surge and n >= surge.enter_waiting:
            q.surge = True
            _deadlines.emit(d, SurgeMode(at=d._now, queue=name, active=True, waiting=n))
        elif q.surge and n <= surge.leave_waiting:
            q.surge = False
            _deadlines.emit(d, SurgeMode(at=d._now, queue=name, active=False, waiting=n))


def finish(d: Distributor, call: CallRecord, outcome: CallState) -> None:
    call.state = outcome
    d._outcomes[outcome] += 1
    del d._calls[call.call_id]


def enter(d: Distributor, call: CallRecord, reason: str) -> None:
    """A call enters its queue afresh (arrival, transfer, overflow): queue
    and route it; if it must wait, tell the estimators, start its
    announcements and offer a callback if the wait is long."""
    enqueue(d, call, reason)
    _routing.route_call(d, call)
    call.next_announce = None
    call.announce_timer = -1
    if call.state is not CallState.WAITING or not d._ests:
        return
    ctx = _estimates.context(d, call)
    for e in d._ests:
        e.on_entered(ctx, call.seq)
    _experience.start_announcements(d, call, ctx)
