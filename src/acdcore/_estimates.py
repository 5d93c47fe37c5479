"""Wait estimates: the context the estimators read for a waiting call or a would-be arrival, and their sampling.

Part of the distributor (internal): functions over a :class:`Distributor`'s state,
called by its façade and by one another.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import (
    _calls,
)
from ._state import (
    AgentRecord,
    CallRecord,
    CallState,
)
from .errors import (
    InvalidCallState,
    InvalidValue,
    UnknownQueue,
)
from .estimators import WaitContext, WaitEstimate, WaitEstimator
from .skills import (
    Channel,
    SkillRequirement,
    freeze_mapping,
)
from .values import check_number

if TYPE_CHECKING:
    from .distributor import Distributor


def sample(d: Distributor) -> None:
    """Tell the estimators about every queue whose waiting count or
    staffing changed in the step that just ran."""
    now = d._now
    for name, q in d._queues.items():
        current = (len(q.waiting), q.staffed)
        if current != q.sampled:
            q.sampled = current
            for e in d._ests:
                e.on_sample(name, now, current[0], current[1])


def eligible_staff(
    d: Distributor,
    queue: str,
    extras: tuple[str, ...],
    requirement: SkillRequirement,
    channel: Channel,
    region: str | None,
    regional: bool,
) -> list[AgentRecord]:
    """Staffed agents of the pool who meet the requirement and have
    capacity on the channel (and, for a regional stage, are in the call's
    region, none for none: the agents routing would offer the call to).
    Cost: O(members of the pool)."""
    out: list[AgentRecord] = []
    seen: set[str] = set()
    for qname in (queue, *extras):
        for aid in d._queues[qname].members:
            if aid in seen:
                continue
            seen.add(aid)
            a = d._agents[aid]
            if not a.staffed or a.profile.capacity.get(channel, 0) <= 0:
                continue
            if not requirement.met_by(a.skills):
                continue
            if regional and a.profile.region != region:  # as router.skill_eligible
                continue
            out.append(a)
    return out


def staff_for(
    d: Distributor,
    queue: str,
    extras: tuple[str, ...],
    requirement: SkillRequirement,
    channel: Channel,
    region: str | None,
    regional: bool,
) -> tuple[list[AgentRecord], int, bool]:
    """The eligible staffed agents (:meth:`_eligible_staff`), their
    capacity on ``channel``, and whether one of them serves another queue
    too; cached until an agent's login, pause or skills change."""
    key = (queue, extras, requirement, channel, regional, region if regional else None)
    hit = d._staff_cache.get(key)
    if hit is not None and hit[0] == d._staff_gen:
        return hit[1], hit[2], hit[3]
    staff = eligible_staff(d, queue, extras, requirement, channel, region, regional)
    n = sum(a.profile.capacity.get(channel, 0) for a in staff)
    shared = bool(extras) or any(len(a.profile.queues) > 1 for a in staff)
    if len(d._staff_cache) > 4096:
        d._staff_cache.clear()
    d._staff_cache[key] = (d._staff_gen, staff, n, shared)
    return staff, n, shared


def context(d: Distributor, call: CallRecord) -> WaitContext:
    """The estimators' view of a waiting call."""
    q = d._queues[call.queue]
    ahead = q.waiting.position(call) - 1
    now = d._now
    head_wait = None
    if ahead > 0:
        head = q.waiting.head()
        assert head is not None
        head_wait = now - head.entered
    staff, servers, shared = staff_for(
        d,
        call.queue,
        call.extra_queues,
        call.requirement,
        call.channel,
        call.region,
        call.regional,
    )

    def competing() -> int:
        return count_competing(d, call, ahead, staff)

    return WaitContext(
        now=now,
        queue=call.queue,
        priority=call.priority,
        ahead=ahead,
        servers=servers,
        waiting=len(q.waiting),
        head_wait=head_wait,
        waited=now - call.entered,
        competing=competing,
        shared=shared,
        agents=len(staff),
    )


def count_competing(d: Distributor, call: CallRecord, ahead: int, staff: list[AgentRecord]) -> int:
    """How many of the ``ahead`` calls before ``call`` in its queue one of
    ``staff`` (the agents who could take ``call``) could also take: none
    when nobody could take ``call`` (then no call competes for its agents,
    whatever its requirement)."""
    if not staff:
        return 0
    q = d._queues[call.queue]
    verdict: dict[tuple[SkillRequirement, Channel], bool] = {}
    n = 0
    for other in itertools.islice(q.waiting, ahead):
        if other.requirement is call.requirement and other.channel is call.channel:
            n += 1
            continue
        k = (other.requirement, other.channel)
        shares = verdict.get(k)
        if shares is None:
            shares = verdict[k] = any(
                other.requirement.met_by(a.skills) and a.profile.capacity.get(other.channel, 0) > 0
                for a in staff
            )
        n += shares
    return n


def pick(d: Distributor, estimator: WaitEstimator | str | None) -> WaitEstimator:
    if estimator is None:
        if not d._ests:
            raise InvalidValue(
                "this distributor has no estimator: pass estimators=[LearnedEstimator()] "
                "(or configure announcements) to get wait estimates"
            )
        return d._ests[0]
    if isinstance(estimator, WaitEstimator):
        return estimator
    for e in d._ests:
        if e.name == estimator:
            return e
    names = ", ".join(e.name for e in d._ests) or "none"
    raise InvalidValue(f"no estimator named {estimator!r} (attached: {names})")


def estimator_list(d: Distributor) -> tuple[WaitEstimator, ...]:
    """The body of :meth:`Distributor.estimators`."""
    return tuple(d._ests)


def estimate_call(
    d: Distributor, call_id: str, estimator: WaitEstimator | str | None = None
) -> WaitEstimate:
    """The body of :meth:`Distributor.estimate`."""
    call = _calls.live_call(d, call_id)
    est = pick(d, estimator)
    if call.state is not CallState.WAITING:
        raise InvalidCallState(
            f"call {call_id!r} is {call.state.value}, not waiting; only a waiting call "
            "has a wait to estimate"
        )
    return est.estimate(context(d, call))


def estimate_arrival(
    d: Distributor,
    queue: str,
    *,
    priority: int = 0,
    emergency: bool = False,
    attributes: Mapping[str, Any] | None = None,
    requirement: SkillRequirement | Mapping[str, int] | None = None,
    channel: Channel = Channel.VOICE,
    estimator: WaitEstimator | str | None = None,
) -> WaitEstimate:
    """The body of :meth:`Distributor.estimate_new`."""
    q = d._queues.get(queue) if isinstance(queue, str) else None
    if q is None:
        raise UnknownQueue(f"no queue named {queue!r}")
    est = pick(d, estimator)
    check_number(priority, "priority", integer=True)
    if not isinstance(channel, Channel):
        raise InvalidValue(f"channel {channel!r} is not a Channel")
    if not isinstance(emergency, bool):
        raise InvalidValue(f"emergency must be a bool, got {emergency!r}")
    attrs_ = freeze_mapping(attributes, "attributes")
    for k in attrs_:
        if not isinstance(k, str):
            raise InvalidValue(f"attribute name {k!r} is not a string")
    req = q.config.requirement
    if requirement is not None:
        req = (
            requirement
            if isinstance(requirement, SkillRequirement)
            else SkillRequirement(requirement)
        )
    key = _calls.policy_key(
        d, "(not arrived)", queue, d._call_seq, d._now, priority, emergency, attrs_
    )
    ahead = q.waiting.ahead(key, checked=False)  # checked by policy_key
    now = d._now
    head = q.waiting.head()
    head_wait = now - head.entered if head is not None and ahead > 0 else None
    staff, servers, shared = staff_for(d, queue, (), req, channel, None, False)
    free = sum(
        1
        for aid in q.free
        if req.met_by(d._agents[aid].skills) and d._agents[aid].channel_free(channel)
    )
    if free > ahead:  # it would be offered at once
        return WaitEstimate(0.0, 0.0, 0.0, ahead, servers, est.name)
    return est.estimate(
        WaitContext(
            now=now,
            queue=queue,
            priority=priority,
            ahead=ahead,
            servers=servers,
            waiting=len(q.waiting),
            head_wait=head_wait,
            shared=shared,
            agents=len(staff),
        )
    )


# --------------------------------------------------------------- queries
