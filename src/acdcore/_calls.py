"""Call handlers: an arrival (its routing plan's rule, exits, stages and preferred agent), an abandon, a transfer.

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from . import (
    _deadlines,
    _frozen_build,
    _offers,
    _queueing,
)
from ._state import (
    AgentRecord,
    CallRecord,
    CallState,
    Stage,
)
from .actions import (
    Action,
    Alert,
    Overflow,
    PreferredAgentBusy,
    Reject,
)
from .config import EXACT
from .errors import (
    AcdError,
    ConfigError,
    DuplicateCall,
    InvalidCallState,
    InvalidValue,
    UnknownCall,
    UnknownQueue,
)
from .events import (
    CallAbandoned,
    CallArrived,
    CallTransferred,
)
from .plans import Exit, Rule, Step
from .policies import KEY_LENGTH
from .router import eligible_at, skill_eligible
from .skills import (
    Channel,
    SkillRequirement,
)
from .values import check_number

if TYPE_CHECKING:
    from .distributor import Distributor


class Arrival(NamedTuple):
    """What a plan decided for an arriving call (computed without mutation)."""

    queue: str
    rule: Rule | None
    rule_name: str
    attributes: Mapping[str, Any]
    priority: int
    emergency: bool
    requirement: SkillRequirement
    steps: tuple[Step, ...]
    hops: tuple[tuple[str, str, str], ...]  # (from queue, to queue, reason)
    exit: tuple[Exit, str] | None  # a terminal exit at arrival, with its reason
    key: tuple[float, ...] | None


def widest(before: SkillRequirement, step: SkillRequirement) -> SkillRequirement:
    """The step's requirement, widened so that it asks nothing ``before`` did
    not: the skills both name, each at the lower of the two levels."""
    old = dict(before.items())
    new = {k: min(v, old[k]) for k, v in step.items() if k in old}
    if len(new) == len(step.items()) and all(new[k] == v for k, v in step.items()):
        return step
    return SkillRequirement(new)


def exact_number(x: object) -> bool:
    """A sort-key element every backend compares exactly."""
    if isinstance(x, int):
        return -EXACT <= x <= EXACT
    return isinstance(x, float) and not math.isnan(x)


def exact_key(key: tuple[float, ...]) -> bool:
    """Every element of ``key`` is one every backend compares exactly."""
    for x in key:
        cls = x.__class__
        if cls is float:
            if x != x:  # NaN
                return False
        elif cls is int:
            if not -EXACT <= x <= EXACT:
                return False
        elif not exact_number(x):
            return False
    return True


def check_call_arrived(d: Distributor, ev: CallArrived) -> Arrival:
    """Raise if the arrival is refused; else return the plan's decision
    (computed without mutation), which :func:`apply_call_arrived` carries out."""
    call_id = ev.call_id
    live = d._calls.get(call_id)
    if live is not None:
        raise DuplicateCall(
            f"call {call_id!r} is already live ({live.state.value} in queue {live.queue!r})"
        )
    if ev.queue not in d._queues:
        raise UnknownQueue(f"call {call_id!r}: no queue named {ev.queue!r}")
    if ev.channel.__class__ is not Channel:
        raise InvalidValue(f"call {call_id!r}: channel {ev.channel!r} is not a Channel")
    # One rule whatever the queue's policy: an int within +-2**53.
    priority = ev.priority
    if priority.__class__ is not int or not -EXACT <= priority <= EXACT:
        check_number(priority, f"call {call_id!r}: priority", integer=True)
    if ev.emergency.__class__ is not bool:
        raise InvalidValue(f"call {call_id!r}: emergency must be a bool")
    preferred = ev.preferred_agent
    if preferred is not None and (not isinstance(preferred, str) or not preferred):
        raise InvalidValue(f"call {call_id!r}: preferred_agent must be a non-empty string or None")
    for k in ev.attributes:
        if k.__class__ is not str and not isinstance(k, str):
            raise InvalidValue(f"call {call_id!r}: attribute name {k!r} is not a string")
    checked = resolve_arrival(d, ev, d._call_seq)  # may raise InvalidValue
    if checked.exit is None:
        # The call must also be orderable in every queue it may be moved to.
        for other in d._reachable[checked.queue]:
            policy_key(
                d,
                call_id,
                other,
                d._call_seq,
                float(ev.now),
                checked.priority,
                checked.emergency,
                checked.attributes,
            )
    return checked


def apply_call_arrived(d: Distributor, ev: CallArrived, decision: Arrival) -> None:
    """Carry out the arrival :func:`check_call_arrived` decided."""
    now = d._now
    d._arrived += 1
    seq = d._call_seq
    d._call_seq += 1
    if decision.rule is not None:
        d._actions.extend(arrival_notes(decision, ev.call_id, now))
    rule = decision.rule
    if decision.exit is not None:
        exit_, reason = decision.exit
        _queueing.exit_outcome(d, ev.call_id, decision.queue, exit_, reason)
        return
    q = d._queues[decision.queue]
    limit = q.config.max_length
    if limit is not None and len(q.waiting) >= limit:
        d._outcomes[CallState.REJECTED] += 1
        _deadlines.emit(
            d, Reject(at=now, call_id=ev.call_id, queue=decision.queue, reason="queue-full")
        )
        return
    assert decision.key is not None
    attributes = decision.attributes
    if attributes:
        caller = attributes.get("caller")
        last_agent = d._callers.get(caller) if isinstance(caller, str) else None
        region = region_of(attributes)
    else:
        last_agent = region = None
    requirement = decision.requirement
    steps = decision.steps
    call = CallRecord(
        call_id=ev.call_id,
        seq=seq,
        queue=decision.queue,
        channel=ev.channel,
        attributes=attributes,
        requirement=requirement,
        priority=decision.priority,
        emergency=decision.emergency,
        preferred_agent=None,
        arrived=now,
        entered=now,
        key=decision.key,
        last_agent=last_agent,
        rule=decision.rule_name,
        # No steps: the one plain stage, entered (what start_stages would do
        # for a new record: its requirement and defaults are that stage's).
        stages=() if steps else plain_stages(d, requirement),
        stage_gen=0 if steps else 1,
    )
    if region is not None:
        call.region = region
    d._calls[call.call_id] = call
    if steps:
        start_stages(d, call, requirement, steps)
    if ev.preferred_agent is not None or rule is not None:
        set_preferred(d, call, ev, rule)
    _queueing.enter(d, call, "arrived")


def region_of(attributes: Mapping[str, Any]) -> str | None:
    """A call's region: its ``region`` attribute when that is a string
    (what regional steps compare with an agent's region), else none."""
    region = attributes.get("region")
    return region if isinstance(region, str) else None


def arrival_notes(decision: Arrival, call_id: str, now: float) -> list[Action]:
    """What a routing plan tells the adapter of an arrival before anything
    else: the moves its exits made between queues (``Overflow`` to a queue),
    then the rule's alert. Pure: the engine's façade says the same."""
    out: list[Action] = [
        Overflow(at=now, call_id=call_id, queue=src, target_queue=dst, reason=reason)
        for src, dst, reason in decision.hops
    ]
    rule = decision.rule
    if rule is not None and rule.alert is not None:
        alert = Alert(
            at=now,
            call_id=call_id,
            queue=decision.queue,
            rule=decision.rule_name,
            message=rule.alert,
        )
        out.append(alert)
    return out


def resolve_arrival(d: Distributor, ev: CallArrived, seq: int) -> Arrival:
    """Apply the plan (rules, closed hours, join-empty, surge) to an
    arriving call without changing anything."""
    now = float(ev.now)
    attributes = ev.attributes
    priority, emergency = ev.priority, ev.emergency
    queue = ev.queue
    plan = d._plan
    if plan is None:  # the common case: the call joins the queue it asks for
        requirement = ev.requirement
        if requirement is None:
            requirement = d._queues[queue].config.requirement
        own = policy_key(d, ev.call_id, queue, seq, now, priority, emergency, attributes)
        return Arrival(
            queue, None, "default", attributes, priority, emergency, requirement, (), (), None, own
        )
    rule = plan.decide(attributes, now)
    rule_name = rule.name
    requirement = ev.requirement
    hops: list[tuple[str, str, str]] = []
    final_exit: tuple[Exit, str] | None = None
    if rule.attributes:
        attributes = MappingProxyType({**attributes, **rule.attributes})
    if rule.priority is not None:
        priority = rule.priority
    if rule.emergency is not None:
        emergency = rule.emergency
    if rule.requirement is not None:
        requirement = rule.requirement
    steps = rule.steps
    pending: tuple[Exit, str] | None = None
    if rule.exit is not None:
        pending = (rule.exit, "rule")
    else:
        assert rule.queue is not None
        queue = rule.queue
    visited = {queue}
    while True:
        if pending is None:
            pending = arrival_exit(d, queue, attributes, now)
        if pending is None:
            break
        exit_, reason = pending
        if exit_.kind != "queue":
            final_exit = pending
            break
        assert exit_.target is not None
        if exit_.target in visited:
            final_exit = (Exit("reject"), "routing-loop")
            break
        hops.append((queue, exit_.target, reason))
        queue = exit_.target
        visited.add(queue)
        requirement, steps = ev.requirement, ()
        pending = None
    if requirement is None:
        requirement = d._queues[queue].config.requirement
    key = None
    if final_exit is None:
        key = policy_key(d, ev.call_id, queue, seq, now, priority, emergency, attributes)
    return Arrival(
        queue=queue,
        rule=rule,
        rule_name=rule_name,
        attributes=attributes,
        priority=priority,
        emergency=emergency,
        requirement=requirement,
        steps=steps,
        hops=tuple(hops),
        exit=final_exit,
        key=key,
    )


def arrival_exit(
    d: Distributor, queue: str, attributes: Mapping[str, Any], now: float
) -> tuple[Exit, str] | None:
    """The exit a call arriving in ``queue`` must take (closed hours,
    join-empty, surge), or ``None`` to join it."""
    assert d._plan is not None
    rules = d._plan.queues.get(queue)
    if rules is None:
        return None
    if rules.schedule is not None and not d._plan.schedule_open(rules.schedule, now):
        return (rules.when_closed, "closed")
    if rules.join_empty is not None and not has_members(d, queue):
        return (rules.join_empty, "join-empty")
    if (
        rules.surge is not None
        and surge_on(d, queue)
        and rules.surge.simple.matches(attributes, now, d._plan)
    ):
        return (rules.surge.exit, "surge")
    return None


def has_members(d: Distributor, queue: str) -> bool:
    """Whether any logged-in agent is a member of ``queue``: the records'
    members, or the engine's count when the C engine holds the state."""
    eng = d._eng
    if eng is None:
        return bool(d._queues[queue].members)
    return eng.eng.members(eng.qidx[queue]) > 0


def surge_on(d: Distributor, queue: str) -> bool:
    """Whether ``queue`` is in surge mode: the records' flag, or the
    engine's when the C engine holds the state."""
    eng = d._eng
    if eng is None:
        return d._queues[queue].surge
    return eng.eng.surge(eng.qidx[queue])


def reachable(d: Distributor, queue: str) -> list[str]:
    """Queues a call waiting in ``queue`` may be moved to by queue exits
    (maximum wait, leave-empty), transitively."""
    out: list[str] = []
    todo = [queue]
    seen = {queue}
    while todo:
        rules = _queueing.queue_rules(d, todo.pop())
        if rules is None:
            continue
        for e in (rules.on_max_wait, rules.leave_empty):
            target = e.target if e is not None and e.kind == "queue" else None
            if target is not None and target not in seen:
                seen.add(target)
                out.append(target)
                todo.append(target)
    return out


def policy_key(
    d: Distributor,
    call_id: str,
    queue: str,
    seq: int,
    arrived: float,
    priority: int,
    emergency: bool,
    attributes: Mapping[str, Any],
) -> tuple[float, ...]:
    policy = d._queues[queue].config.policy
    facts = _frozen_build.call_facts(seq, arrived, priority, emergency, attributes)
    try:
        key = policy.key(facts)
    except AcdError as exc:
        raise InvalidValue(f"call {call_id!r}: {exc}") from None
    if not key or key[-1] != seq:
        raise ConfigError(f"policy {policy.name!r} returned key {key!r} not ending in the sequence")
    if len(key) > KEY_LENGTH or not exact_key(key):
        raise InvalidValue(
            f"call {call_id!r}: policy {policy.name!r} returned key {key!r}; a key holds at "
            f"most {KEY_LENGTH} numbers, integers within +-2**53 and no NaN"
        )
    return key


def set_preferred(d: Distributor, call: CallRecord, ev: CallArrived, rule: Rule | None) -> None:
    """Reserve the call for its preferred agent (event field, or the
    rule's attribute) and tell the adapter if that agent is not free."""
    q = d._queues[call.queue]
    wanted = ev.preferred_agent
    pref = rule.preferred if rule is not None else None
    if wanted is None and pref is not None:
        value = call.attributes.get(pref.attribute)
        wanted = value if isinstance(value, str) and value else None
    if wanted is None:
        return
    call.preferred_agent = wanted
    wait = pref.wait if pref is not None else q.config.preferred_agent_wait
    call.preferred_until = call.entered + wait
    if pref is None:
        return
    agent = d._agents.get(wanted)
    free = agent is not None and eligible_at(agent, call, q, d._now) == d._now
    if not free:
        fallback = pref.if_busy == "fallback"
        if fallback:
            call.preferred_until = d._now
        _deadlines.emit(
            d,
            PreferredAgentBusy(at=d._now, call_id=call.call_id, agent_id=wanted, fallback=fallback),
        )


def plain_stages(d: Distributor, requirement: SkillRequirement) -> tuple[Stage, ...]:
    """The stages of a call with no steps: one shared tuple per requirement."""
    plain = d._plain_stages.get(requirement)
    if plain is None:
        if len(d._plain_stages) >= 8192:
            d._plain_stages.clear()
        plain = d._plain_stages[requirement] = (Stage(requirement, (), False, None),)
    return plain


def resolve_stages(
    queue: str, arrived: float, requirement: SkillRequirement, steps: tuple[Step, ...]
) -> tuple[Stage, ...]:
    """A rule's steps as absolute stages, timed from ``arrived``, for a call
    of ``queue`` needing ``requirement`` (empty without steps): each
    requirement never narrower than the one before, added queues
    accumulating, and an unbounded last stage when every step expires.
    Pure: the engine's façade resolves them the same way."""
    stages: list[Stage] = []
    extras: tuple[str, ...] = ()
    req = requirement
    for step in steps:
        if step.requirement is not None:
            # Never narrower than the stage before, whatever the call's own
            # requirement was: keep only what both ask, at the lower level.
            req = widest(req, step.requirement)
        for x in step.add_queues:
            if x not in extras and x != queue:
                extras = (*extras, x)
        expires = None if step.expires_after is None else arrived + step.expires_after
        stages.append(Stage(req, extras, step.regional, expires, step.skip_if_empty))
    if stages and stages[-1].expires_at is not None:
        # Every step has expired: any agent of the queue (and of the added queues).
        stages.append(Stage(SkillRequirement(), extras, False, None))
    return tuple(stages)


def start_stages(
    d: Distributor, call: CallRecord, requirement: SkillRequirement, steps: tuple[Step, ...]
) -> None:
    """Resolve the rule's steps into absolute stages (timed from arrival)
    and enter the first one."""
    stages = resolve_stages(call.queue, call.arrived, requirement, steps)
    call.stages = stages if stages else plain_stages(d, requirement)
    call.stage_gen += 1
    enter_stage(d, call, 0)


def enter_stage(d: Distributor, call: CallRecord, index: int) -> None:
    """Make stage ``index`` current, skipping expired stages and empty
    ones marked ``skip_if_empty``; schedule the next relaxation."""
    call.stage_timer = -1
    while True:
        stage = call.stages[index]
        call.stage = index
        call.requirement = stage.requirement
        call.extra_queues = stage.extra_queues
        call.regional = stage.regional
        if call.slot >= 0 and d._nat is not None:
            d._nat.restage(call)
        last = index == len(call.stages) - 1
        if last:
            return
        if stage.expires_at is not None and stage.expires_at <= d._now:
            index += 1
            continue
        if stage.skip_if_empty and not anyone_could_take(d, call):
            index += 1
            continue
        assert stage.expires_at is not None
        call.stage_timer = _deadlines.schedule(
            d, stage.expires_at, _deadlines.STAGE, call, index + 1
        )
        return


def anyone_could_take(d: Distributor, call: CallRecord) -> bool:
    """True when a logged-in agent of the call's pool meets its current
    requirement (ignoring whether it is free)."""
    for qname in (call.queue, *call.extra_queues):
        for aid in d._queues[qname].members:
            if skill_eligible(d._agents[aid], call):
                return True
    return False


def check_call_abandoned(d: Distributor, ev: CallAbandoned) -> CallRecord:
    call = live_call(d, ev.call_id)
    if call.state is CallState.CONNECTED:
        raise InvalidCallState(
            f"call {ev.call_id!r} is connected to agent {call.agent!r}; "
            "a connected call ends with CallEnded, not CallAbandoned"
        )
    if call.callback:
        raise InvalidCallState(
            f"call {ev.call_id!r} is a callback ({call.state.value}): its caller is not "
            "on the line and cannot abandon; an unanswered attempt is CallbackUnanswered"
        )
    return call


def apply_call_abandoned(d: Distributor, ev: CallAbandoned, call: CallRecord) -> None:
    released: list[AgentRecord] = []
    if call.state is CallState.WAITING:
        _queueing.dequeue(d, call)
        for e in d._ests:
            e.on_abandoned(call.queue, d._now, d._now - call.entered, call.seq)
    else:
        for e in d._ests:
            e.on_left(call.queue, d._now, call.seq)
        released = _offers.release_offers(d, call, "caller-abandoned")
    _queueing.finish(d, call, CallState.ABANDONED)
    if released:
        _offers.reroute(d, released)


def check_call_transferred(d: Distributor, ev: CallTransferred) -> CallRecord:
    call = live_call(d, ev.call_id)
    if call.state is not CallState.CONNECTED:
        raise InvalidCallState(
            f"call {ev.call_id!r} is {call.state.value}; only a connected call can be transferred"
        )
    if ev.queue not in d._queues:
        raise UnknownQueue(f"call {ev.call_id!r}: transfer to unknown queue {ev.queue!r}")
    if not isinstance(ev.keep_arrival, bool):
        raise InvalidValue(f"call {ev.call_id!r}: keep_arrival must be a bool")
    arrived = call.arrived if ev.keep_arrival else float(ev.now)
    for queue in (ev.queue, *d._reachable[ev.queue]):
        policy_key(
            d,
            ev.call_id,
            queue,
            call.seq,
            arrived,
            call.priority,
            call.emergency,
            call.attributes,
        )
    return call


def apply_call_transferred(d: Distributor, ev: CallTransferred, call: CallRecord) -> None:
    _offers.release_agent(d, call)
    call.agent = None
    call.answered_at = None
    call.transfers += 1
    call.rule = "transfer"
    d._transfers += 1
    _queueing.move(d, call, ev.queue, ev.requirement, keep_arrival=ev.keep_arrival)
    _queueing.enter(d, call, "transferred")


def live_call(d: Distributor, call_id: str) -> CallRecord:
    """The live call ``call_id``, or raise :class:`UnknownCall`."""
    call = d._calls.get(call_id) if isinstance(call_id, str) else None
    if call is None:
        raise UnknownCall(f"no live call {call_id!r} (never arrived, or already finished)")
    return call
