"""The distributor: a sans-IO automatic call distributor.

Events go in (:meth:`Distributor.handle`), actions come out; time moves only
when the adapter says so (:meth:`Distributor.advance`), and
:meth:`Distributor.next_deadline` says when it next has something to do.

Decision rules (all deterministic):

- A call that becomes routable (arrives, goes back to its queue, or reaches a
  deadline that widens who may take it) is offered to the eligible free agents
  chosen by its queue's strategy.
- An agent who gains capacity (logs in, is resumed, finishes wrap-up, passes
  its no-answer delay, gains skills, is released from an offer) takes, from the
  queues it serves with the lowest membership priority number, the first
  eligible call of each queue in policy order; among those, the one that
  entered its queue earliest (the caller who waited longest), then the lowest
  arrival sequence number. This repeats while it has capacity.
- Deadlines due at the same instant fire in the order they were scheduled.
- After every event and every deadline: no waiting call has an eligible agent
  with free capacity, unless a delay (membership delay, preferred-agent
  reservation, no-answer delay) explains it and a deadline is pending for the
  instant it ends. :meth:`Distributor.check` verifies this.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs

from . import backend as _backend
from ._state import (
    AgentRecord,
    AgentState,
    CallRecord,
    CallState,
    QueueRecord,
    Session,
    SessionState,
    Stage,
)
from .actions import (
    Action,
    Alert,
    Announce,
    CallbackFailed,
    CancelOffer,
    Offer,
    OfferCallback,
    Overflow,
    PauseAgent,
    PlaceCallback,
    PreferredAgentBusy,
    Queued,
    Reject,
    SelfService,
    SurgeMode,
)
from .config import EXACT, AgentProfile, CallbackPolicy, QueueConfig
from .errors import (
    AcdError,
    AdvanceRequired,
    ConfigError,
    DuplicateCall,
    InvalidAgentState,
    InvalidCallState,
    InvalidValue,
    NoSuchOffer,
    TimeWentBackwards,
    UnknownAgent,
    UnknownCall,
    UnknownQueue,
)
from .estimators import LearnedEstimator, WaitContext, WaitEstimate, WaitEstimator, spoken_wait
from .events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    AgentSkillsChanged,
    CallAbandoned,
    CallArrived,
    CallbackCancelled,
    CallbackRequested,
    CallbackUnanswered,
    CallEnded,
    CallTransferred,
    Event,
    OfferAnswered,
    OfferDeclined,
)
from .plans import Exit, QueueRules, RoutingPlan, Rule, Step
from .policies import CallFacts
from .router import draw, eligible_at, membership_for, opens_at, select_agents, skill_eligible
from .skills import (
    Channel,
    SkillRequirement,
    check_instant,
    freeze_mapping,
    freeze_sequence,
    validate_skills,
)
from .values import check_number

if TYPE_CHECKING:
    from ._native.core import NativeCore

__all__ = ["AgentView", "CallView", "Distributor", "Explanation"]

KEY_LENGTH = 6
"""The most numbers a priority policy's sort key may hold."""

# Timer kinds. A timer is (instant, sequence, kind, ref, token); it is stale
# (skipped) unless the record it names still expects it.
_RING = 0
_WRAP = 1
_AGENT_WAKE = 2
_CALL_RECHECK = 3
_STAGE = 4
_MAX_WAIT = 5
_ANNOUNCE = 6
_RETRY = 7

_LIVE = (CallState.WAITING, CallState.RINGING, CallState.CONNECTED, CallState.CALLBACK_PENDING)
_FINAL = (
    CallState.COMPLETED,
    CallState.ABANDONED,
    CallState.REJECTED,
    CallState.OVERFLOWED,
    CallState.SELF_SERVICE,
    CallState.CALLBACK_FAILED,
    CallState.CALLBACK_CANCELLED,
)
_DEFAULT_CALLBACK = CallbackPolicy()


@attrs.frozen
class _Arrival:
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


class Distributor:
    """An automatic call distributor with no I/O, no clock and no global state.

    Construct it with the queue configurations and an injected random number
    generator (used only by the random strategies). Feed it events with
    :meth:`handle` and move its clock with :meth:`advance`; both return the
    actions to perform, in order.

    Complexity: an arrival costs O(f) for f free members of its queue (zero in
    overload); an agent gaining capacity costs O(sum of the positions of the
    first eligible call in each queue it serves) plus O(log n) per offer.
    """

    def __init__(
        self,
        queues: Sequence[QueueConfig],
        *,
        rng: random.Random | None = None,
        start: float = 0.0,
        remember_callers: int = 10_000,
        plan: RoutingPlan | None = None,
        skills: Iterable[str] | None = None,
        backend: str | None = None,
        estimators: Iterable[WaitEstimator] | WaitEstimator | None = None,
    ) -> None:
        if isinstance(queues, QueueConfig) or not isinstance(queues, Iterable):
            raise ConfigError("queues must be a sequence of QueueConfig")
        records: dict[str, QueueRecord] = {}
        for i, q in enumerate(queues):
            if not isinstance(q, QueueConfig):
                raise ConfigError(f"queues[{i}] is {q!r}, not a QueueConfig")
            if q.name in records:
                raise ConfigError(f"queues[{i}]: queue name {q.name!r} is used twice")
            records[q.name] = QueueRecord(config=q)
        if not records:
            raise ConfigError("at least one queue is required")
        try:
            check_instant(start, "start")
        except InvalidValue as exc:
            raise ConfigError(str(exc)) from None
        if isinstance(remember_callers, bool) or not isinstance(remember_callers, int):
            raise ConfigError(f"remember_callers must be an int, got {remember_callers!r}")
        if remember_callers < 0:
            raise ConfigError(f"remember_callers must be >= 0, got {remember_callers}")
        if rng is not None and not isinstance(rng, random.Random):
            raise ConfigError(f"rng must be a random.Random, got {rng!r}")
        known_skills = None
        if skills is not None:
            names = freeze_sequence(skills, "skills", ConfigError, ordered=False)
            for name in names:
                if not isinstance(name, str) or not name:
                    raise ConfigError(f"skills: {name!r} is not a skill name")
            known_skills = frozenset(names)
        if known_skills is not None:
            for name, rec in records.items():
                for skill, _ in rec.config.requirement.items():
                    if skill not in known_skills:
                        raise ConfigError(f"queue {name!r}: unknown skill {skill!r}")
        borrowers: dict[str, dict[str, None]] = {}
        if plan is not None:
            if not isinstance(plan, RoutingPlan):
                raise ConfigError(f"plan must be a RoutingPlan, got {plan!r}")
            plan.validate_for({n: q.config.requirement for n, q in records.items()}, known_skills)
            for rule in plan.all_rules():
                for step in rule.steps:
                    for lender in step.add_queues:
                        if rule.queue is not None and lender != rule.queue:
                            borrowers.setdefault(lender, {})[rule.queue] = None
        if backend is None:
            backend = _backend.BACKEND
        if backend not in ("python", "native"):
            raise ConfigError(f"backend must be 'python' or 'native', got {backend!r}")
        if backend == "native" and not _backend.native_available():
            raise ConfigError("backend 'native' was asked for but the extension is not built")
        wanted = any(r.config.announce or r.config.callback for r in records.values())
        if estimators is None:
            ests: list[WaitEstimator] = [LearnedEstimator()] if wanted else []
        elif isinstance(estimators, WaitEstimator):
            ests = [estimators]
        else:
            ests = list(freeze_sequence(estimators, "estimators", ConfigError))
        seen_names: set[str] = set()
        for e in ests:
            if not isinstance(e, WaitEstimator):
                raise ConfigError(f"estimators: {e!r} is not a WaitEstimator")
            if e.name in seen_names:
                raise ConfigError(f"estimators: two estimators are named {e.name!r}")
            seen_names.add(e.name)
        if not ests and wanted:
            raise ConfigError(
                "queues with announcements or callback offers need an estimator; "
                "leave estimators=None for the default"
            )
        self._ests = ests
        self._staff_gen = 0
        self._staff_cache: dict[tuple[Any, ...], tuple[int, list[AgentRecord], int, bool]] = {}
        self._backend = backend
        self._nat: NativeCore | None = None
        if backend == "native":
            from ._native.core import NativeCore

            self._nat = NativeCore(list(records), [r.config.strategy for r in records.values()])
        self._plan = plan
        self._borrowers = {k: tuple(v) for k, v in borrowers.items()}
        self._transfers = 0
        self._queues = records
        self._rng = rng if rng is not None else random.Random(0)
        self._now = float(start)
        self._calls: dict[str, CallRecord] = {}
        self._agents: dict[str, AgentRecord] = {}
        # Deadlines: (instant, scheduling number, kind, record, token), a heap.
        self._timers: list[tuple[float, int, int, Any, Any]] = []
        self._timer_seq = 0
        self._call_seq = 0
        self._callers: OrderedDict[str, str] = OrderedDict()
        self._remember = remember_callers
        self._outcomes = dict.fromkeys(_FINAL, 0)
        self._arrived = 0
        self._actions: list[Action] = []
        self._plain_stages: dict[SkillRequirement, tuple[Stage, ...]] = {}
        # The arrival decision of the validate pass, for its apply pass.
        self._decided: tuple[CallArrived, _Arrival] | None = None

    # ------------------------------------------------------------------ time

    @property
    def backend(self) -> str:
        """Which backend makes the routing decisions: ``"python"`` or ``"native"``."""
        return self._backend

    @property
    def now(self) -> float:
        """The distributor's clock: the latest instant it was told about."""
        return self._now

    def next_deadline(self) -> float | None:
        """The next instant at which the distributor has something to do (a
        ring timeout, the end of a wrap-up or of a delay), or ``None``.

        A pure read, O(1): every :meth:`handle` and :meth:`advance` leaves a
        live deadline (or none) at the top of the heap.
        """
        timers = self._timers
        return timers[0][0] if timers else None

    def advance(self, now: float) -> list[Action]:
        """Move the clock to ``now``, firing every deadline due at or before it
        in order, and return the actions they produce."""
        check_instant(now, "now")
        if now < self._now:
            raise TimeWentBackwards(
                f"advance to {now!r} is before the distributor's clock {self._now!r}"
            )
        self._actions = []
        timers = self._timers
        fired = False
        while timers and timers[0][0] <= now:
            when, tseq, kind, rec, token = heapq.heappop(timers)
            if not self._timer_live(tseq, kind, rec, token):
                continue
            fired = True
            self._now = when
            self._fire(kind, rec, token)
            self._update_surge()
            if self._ests:
                self._sample()
        self._now = float(now)
        if fired:  # else nothing changed: the deadline on top is still live
            self._drop_dead_timers()
        out, self._actions = self._actions, []
        return out

    # --------------------------------------------------------------- events

    def handle(self, event: Event) -> list[Action]:
        """Apply one event and return the actions it causes.

        Raises an :class:`~acdcore.errors.AcdError` subclass for a bad event,
        leaving the distributor exactly as it was. Raises
        :class:`~acdcore.errors.AdvanceRequired` if a deadline is due at or
        before ``event.now``: call :meth:`advance` first.
        """
        if not isinstance(event, Event):
            raise InvalidValue(f"not an acdcore event: {event!r}")
        check_instant(event.now, f"{type(event).__name__}.now")
        if event.now < self._now:
            raise TimeWentBackwards(
                f"{type(event).__name__} at {event.now!r} is before the distributor's "
                f"clock {self._now!r}"
            )
        due = self.next_deadline()
        if due is not None and due <= event.now:
            raise AdvanceRequired(
                f"{type(event).__name__} at {event.now!r}: a deadline is due at {due!r}; "
                f"call advance({event.now!r}) first"
            )
        handler, fields = _HANDLERS.get(type(event), (None, _ID_FIELDS))
        for field in fields:
            value = getattr(event, field, None)
            if value is None and not hasattr(event, field):
                continue
            if not isinstance(value, str) or not value:
                raise InvalidValue(
                    f"{type(event).__name__}.{field} must be a non-empty string, got {value!r}"
                )
        if handler is None:
            raise InvalidValue(f"no handler for event type {type(event).__name__}")
        handler(self, event, validate=True)
        self._actions = []
        self._now = float(event.now)
        handler(self, event, validate=False)
        self._update_surge()
        if self._ests:
            self._sample()
        self._drop_dead_timers()
        out, self._actions = self._actions, []
        return out

    # Each _on_* handler runs twice: once with validate=True, which must only
    # raise and never mutate, then with validate=False, which must not raise.

    def _on_call_arrived(self, ev: CallArrived, validate: bool) -> None:
        if validate:
            if ev.call_id in self._calls:
                live = self._calls[ev.call_id]
                raise DuplicateCall(
                    f"call {ev.call_id!r} is already live ({live.state.value} in queue {live.queue!r})"
                )
            if ev.queue not in self._queues:
                raise UnknownQueue(f"call {ev.call_id!r}: no queue named {ev.queue!r}")
            if not isinstance(ev.channel, Channel):
                raise InvalidValue(f"call {ev.call_id!r}: channel {ev.channel!r} is not a Channel")
            # One rule whatever the queue's policy: an int within +-2**53.
            check_number(ev.priority, f"call {ev.call_id!r}: priority", integer=True)
            if not isinstance(ev.emergency, bool):
                raise InvalidValue(f"call {ev.call_id!r}: emergency must be a bool")
            if ev.preferred_agent is not None and (
                not isinstance(ev.preferred_agent, str) or not ev.preferred_agent
            ):
                raise InvalidValue(
                    f"call {ev.call_id!r}: preferred_agent must be a non-empty string or None"
                )
            for k in ev.attributes:
                if not isinstance(k, str):
                    raise InvalidValue(f"call {ev.call_id!r}: attribute name {k!r} is not a string")
            checked = self._resolve_arrival(ev, self._call_seq)  # may raise InvalidValue
            if checked.exit is None:
                # The call must also be orderable in every queue it may be moved to.
                for other in self._reachable(checked.queue):
                    self._policy_key(
                        ev.call_id, other, self._call_seq, float(ev.now), checked.priority,
                        checked.emergency, checked.attributes,
                    )  # fmt: skip
            self._decided = (ev, checked)  # the apply pass, which follows at once, reuses it
            return
        now = self._now
        self._arrived += 1
        seq = self._call_seq
        self._call_seq += 1
        decided, self._decided = self._decided, None
        decision = decided[1] if decided is not None and decided[0] is ev else None
        if decision is None:
            decision = self._resolve_arrival(ev, seq)
        for src, dst, reason in decision.hops:
            self._emit(
                Overflow(at=now, call_id=ev.call_id, queue=src, target_queue=dst, reason=reason)
            )
        if decision.rule is not None and decision.rule.alert is not None:
            self._emit(
                Alert(
                    at=now,
                    call_id=ev.call_id,
                    queue=decision.queue,
                    rule=decision.rule_name,
                    message=decision.rule.alert,
                )
            )
        if decision.exit is not None:
            exit_, reason = decision.exit
            self._exit_outcome(ev.call_id, decision.queue, exit_, reason)
            return
        q = self._queues[decision.queue]
        limit = q.config.max_length
        if limit is not None and len(q.waiting) >= limit:
            self._outcomes[CallState.REJECTED] += 1
            self._emit(
                Reject(at=now, call_id=ev.call_id, queue=decision.queue, reason="queue-full")
            )
            return
        assert decision.key is not None
        caller = decision.attributes.get("caller")
        last_agent = self._callers.get(caller) if isinstance(caller, str) else None
        call = CallRecord(
            call_id=ev.call_id,
            seq=seq,
            queue=decision.queue,
            channel=ev.channel,
            attributes=decision.attributes,
            requirement=decision.requirement,
            priority=decision.priority,
            emergency=decision.emergency,
            preferred_agent=None,
            arrived=now,
            entered=now,
            key=decision.key,
            last_agent=last_agent,
            rule=decision.rule_name,
        )
        region = decision.attributes.get("region")
        call.region = region if isinstance(region, str) else None
        self._calls[call.call_id] = call
        self._start_stages(call, decision.requirement, decision.steps)
        self._set_preferred(call, ev, decision.rule)
        self._enter(call, "arrived")

    def _resolve_arrival(self, ev: CallArrived, seq: int) -> _Arrival:
        """Apply the plan (rules, closed hours, join-empty, surge) to an
        arriving call without changing anything."""
        now = float(ev.now)
        attributes = ev.attributes
        priority, emergency = ev.priority, ev.emergency
        queue = ev.queue
        rule: Rule | None = None
        rule_name = "default"
        requirement = ev.requirement
        steps: tuple[Step, ...] = ()
        hops: list[tuple[str, str, str]] = []
        final_exit: tuple[Exit, str] | None = None
        plan = self._plan
        if plan is not None:
            rule = plan.decide(attributes, now)
            rule_name = rule.name
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
                    pending = self._arrival_exit(queue, attributes, now)
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
            requirement = self._queues[queue].config.requirement
        key = None
        if final_exit is None:
            key = self._policy_key(ev.call_id, queue, seq, now, priority, emergency, attributes)
        return _Arrival(
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

    def _arrival_exit(
        self, queue: str, attributes: Mapping[str, Any], now: float
    ) -> tuple[Exit, str] | None:
        """The exit a call arriving in ``queue`` must take (closed hours,
        join-empty, surge), or ``None`` to join it."""
        assert self._plan is not None
        rules = self._plan.queues.get(queue)
        if rules is None:
            return None
        if rules.schedule is not None and not self._plan.schedule_open(rules.schedule, now):
            return (rules.when_closed, "closed")
        if rules.join_empty is not None and not self._queues[queue].members:
            return (rules.join_empty, "join-empty")
        if (
            rules.surge is not None
            and self._queues[queue].surge
            and rules.surge.simple.matches(attributes, now, self._plan)
        ):
            return (rules.surge.exit, "surge")
        return None

    def _reachable(self, queue: str) -> list[str]:
        """Queues a call waiting in ``queue`` may be moved to by queue exits
        (maximum wait, leave-empty), transitively."""
        out: list[str] = []
        todo = [queue]
        seen = {queue}
        while todo:
            rules = self._queue_rules(todo.pop())
            if rules is None:
                continue
            for e in (rules.on_max_wait, rules.leave_empty):
                target = e.target if e is not None and e.kind == "queue" else None
                if target is not None and target not in seen:
                    seen.add(target)
                    out.append(target)
                    todo.append(target)
        return out

    def _policy_key(
        self,
        call_id: str,
        queue: str,
        seq: int,
        arrived: float,
        priority: int,
        emergency: bool,
        attributes: Mapping[str, Any],
    ) -> tuple[float, ...]:
        policy = self._queues[queue].config.policy
        facts = CallFacts(
            seq=seq, arrived=arrived, priority=priority, emergency=emergency, attributes=attributes
        )
        try:
            key = policy.key(facts)
        except AcdError as exc:
            raise InvalidValue(f"call {call_id!r}: {exc}") from None
        if not key or key[-1] != seq:
            raise ConfigError(
                f"policy {policy.name!r} returned key {key!r} not ending in the sequence"
            )
        if len(key) > KEY_LENGTH or not all(_exact_number(x) for x in key):
            raise InvalidValue(
                f"call {call_id!r}: policy {policy.name!r} returned key {key!r}; a key holds at "
                f"most {KEY_LENGTH} numbers, integers within +-2**53 and no NaN"
            )
        return key

    def _set_preferred(self, call: CallRecord, ev: CallArrived, rule: Rule | None) -> None:
        """Reserve the call for its preferred agent (event field, or the
        rule's attribute) and tell the adapter if that agent is not free."""
        q = self._queues[call.queue]
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
        agent = self._agents.get(wanted)
        free = agent is not None and eligible_at(agent, call, q, self._now) == self._now
        if not free:
            fallback = pref.if_busy == "fallback"
            if fallback:
                call.preferred_until = self._now
            self._emit(
                PreferredAgentBusy(
                    at=self._now, call_id=call.call_id, agent_id=wanted, fallback=fallback
                )
            )

    def _start_stages(
        self, call: CallRecord, requirement: SkillRequirement, steps: tuple[Step, ...]
    ) -> None:
        """Resolve the rule's steps into absolute stages (timed from arrival)
        and enter the first one."""
        stages: list[Stage] = []
        extras: tuple[str, ...] = ()
        req = requirement
        for step in steps:
            if step.requirement is not None:
                # Never narrower than the stage before, whatever the call's own
                # requirement was: keep only what both ask, at the lower level.
                req = _widest(req, step.requirement)
            for x in step.add_queues:
                if x not in extras and x != call.queue:
                    extras = (*extras, x)
            expires = None if step.expires_after is None else call.arrived + step.expires_after
            stages.append(Stage(req, extras, step.regional, expires, step.skip_if_empty))
        if not stages:
            # The common case (no steps): one shared stage tuple per requirement.
            plain = self._plain_stages.get(requirement)
            if plain is None:
                if len(self._plain_stages) >= 8192:
                    self._plain_stages.clear()
                plain = self._plain_stages[requirement] = (Stage(requirement, (), False, None),)
            call.stages = plain
            call.stage_gen += 1
            self._enter_stage(call, 0)
            return
        elif stages[-1].expires_at is not None:
            # Every step has expired: any agent of the queue (and of the added queues).
            stages.append(Stage(SkillRequirement(), extras, False, None))
        call.stages = tuple(stages)
        call.stage_gen += 1
        self._enter_stage(call, 0)

    def _enter_stage(self, call: CallRecord, index: int) -> None:
        """Make stage ``index`` current, skipping expired stages and empty
        ones marked ``skip_if_empty``; schedule the next relaxation."""
        call.stage_timer = -1
        while True:
            stage = call.stages[index]
            call.stage = index
            call.requirement = stage.requirement
            call.extra_queues = stage.extra_queues
            call.regional = stage.regional
            if call.slot >= 0 and self._nat is not None:
                self._nat.restage(call)
            last = index == len(call.stages) - 1
            if last:
                return
            if stage.expires_at is not None and stage.expires_at <= self._now:
                index += 1
                continue
            if stage.skip_if_empty and not self._anyone_could_take(call):
                index += 1
                continue
            assert stage.expires_at is not None
            call.stage_timer = self._schedule(stage.expires_at, _STAGE, call, index + 1)
            return

    def _anyone_could_take(self, call: CallRecord) -> bool:
        """True when a logged-in agent of the call's pool meets its current
        requirement (ignoring whether it is free)."""
        for qname in (call.queue, *call.extra_queues):
            for aid in self._queues[qname].members:
                if skill_eligible(self._agents[aid], call):
                    return True
        return False

    def _on_call_abandoned(self, ev: CallAbandoned, validate: bool) -> None:
        if validate:
            call = self._live_call(ev.call_id)
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
            return
        call = self._calls[ev.call_id]
        released: list[AgentRecord] = []
        if call.state is CallState.WAITING:
            self._dequeue(call)
            for e in self._ests:
                e.on_abandoned(call.queue, self._now, self._now - call.entered, call.seq)
        else:
            for e in self._ests:
                e.on_left(call.queue, self._now, call.seq)
            released = self._release_offers(call, "caller-abandoned")
        self._finish(call, CallState.ABANDONED)
        self._reroute(released)

    def _on_offer_answered(self, ev: OfferAnswered, validate: bool) -> None:
        if validate:
            self._outstanding_offer(ev.call_id, ev.agent_id)
            return
        call = self._calls[ev.call_id]
        agent = self._agents[ev.agent_id]
        others = [aid for aid in call.offers if aid != ev.agent_id]
        call.offers = []
        call.state = CallState.CONNECTED
        call.agent = agent.agent_id
        call.answered_at = self._now
        call.ring_round += 1
        for e in self._ests:
            if call.callback:
                e.on_left(call.queue, self._now, call.seq)
            else:
                e.on_answered(
                    call.queue, self._now, self._now - call.entered, call.seq, call.priority
                )
        call.callback = False  # the customer is on the line now
        call.stage_timer = -1  # a connected call's steps no longer matter (transfers restart them)
        agent.sessions[call.seq].state = SessionState.CONNECTED
        agent.calls_taken += 1
        agent.misses = 0
        self._record_answer(agent, True)
        caller = call.attributes.get("caller")
        if isinstance(caller, str) and self._remember > 0:
            self._callers[caller] = agent.agent_id
            self._callers.move_to_end(caller)
            while len(self._callers) > self._remember:
                self._callers.popitem(last=False)
        self._refresh(agent)
        released = []
        for aid in others:
            other = self._agents[aid]
            del other.sessions[call.seq]
            self._emit(
                CancelOffer(
                    at=self._now, call_id=call.call_id, agent_id=aid, reason="answered-elsewhere"
                )
            )
            released.append(other)
        for other in released:
            self._refresh(other)
            self._route_agent(other)

    def _on_offer_declined(self, ev: OfferDeclined, validate: bool) -> None:
        if validate:
            self._outstanding_offer(ev.call_id, ev.agent_id)
            if not isinstance(ev.reason, str):
                raise InvalidValue(f"OfferDeclined.reason must be a string, got {ev.reason!r}")
            return
        call = self._calls[ev.call_id]
        agent = self._agents[ev.agent_id]
        call.offers.remove(agent.agent_id)
        del agent.sessions[call.seq]
        self._miss(agent, call.queue)
        if not call.offers:
            call.ring_round += 1
            self._requeue(call, "declined")
        self._route_agent(agent)

    def _on_call_ended(self, ev: CallEnded, validate: bool) -> None:
        if validate:
            call = self._live_call(ev.call_id)
            if call.state is not CallState.CONNECTED:
                raise InvalidCallState(
                    f"call {ev.call_id!r} is {call.state.value}, not connected; "
                    "use CallAbandoned for a caller who hangs up before being connected"
                )
            return
        call = self._calls[ev.call_id]
        self._finish(call, CallState.COMPLETED)
        self._release_agent(call)

    def _release_agent(self, call: CallRecord) -> None:
        """The agent's side of a connected call ends (call ended or
        transferred): talk time, then wrap-up or a pending logout."""
        assert call.agent is not None and call.answered_at is not None
        agent = self._agents[call.agent]
        agent.talk_time += self._now - call.answered_at
        agent.last_call_end = self._now
        session = agent.sessions[call.seq]
        wrap = self._queues[session.queue].config.wrap_up
        if self._ests:
            held = self._now - call.offered_at + (0.0 if agent.pending_logout else wrap)
            for e in self._ests:
                e.on_handled(session.queue, self._now, held)
        if agent.pending_logout:
            del agent.sessions[call.seq]
            self._end_wrapups(agent)
            if not agent.sessions:
                self._complete_logout(agent)
            return
        if wrap > 0:
            session.state = SessionState.WRAP_UP
            session.until = self._after(wrap)
            self._schedule(session.until, _WRAP, agent, session)
        else:
            del agent.sessions[call.seq]
            agent.idle_since = self._now
        self._refresh(agent)
        self._route_agent(agent)

    def _on_call_transferred(self, ev: CallTransferred, validate: bool) -> None:
        if validate:
            call = self._live_call(ev.call_id)
            if call.state is not CallState.CONNECTED:
                raise InvalidCallState(
                    f"call {ev.call_id!r} is {call.state.value}; only a connected call can be "
                    "transferred"
                )
            if ev.queue not in self._queues:
                raise UnknownQueue(f"call {ev.call_id!r}: transfer to unknown queue {ev.queue!r}")
            if not isinstance(ev.keep_arrival, bool):
                raise InvalidValue(f"call {ev.call_id!r}: keep_arrival must be a bool")
            arrived = call.arrived if ev.keep_arrival else float(ev.now)
            for queue in (ev.queue, *self._reachable(ev.queue)):
                self._policy_key(
                    ev.call_id, queue, call.seq, arrived, call.priority, call.emergency,
                    call.attributes,
                )  # fmt: skip
            return
        call = self._calls[ev.call_id]
        self._release_agent(call)
        call.agent = None
        call.answered_at = None
        call.transfers += 1
        call.rule = "transfer"
        self._transfers += 1
        self._move(call, ev.queue, ev.requirement, keep_arrival=ev.keep_arrival)
        self._enter(call, "transferred")

    def _on_agent_logged_in(self, ev: AgentLoggedIn, validate: bool) -> None:
        profile = ev.profile
        if validate:
            if not isinstance(profile, AgentProfile):
                raise InvalidValue(
                    f"AgentLoggedIn.profile must be an AgentProfile, got {profile!r}"
                )
            known = self._agents.get(profile.agent_id)
            if known is not None and known.logged_in:
                raise InvalidAgentState(
                    f"agent {profile.agent_id!r} is already logged in ({known.state().value})"
                )
            for qname in profile.queues:
                if qname not in self._queues:
                    raise UnknownQueue(f"agent {profile.agent_id!r} serves unknown queue {qname!r}")
            return
        agent = self._agents.get(profile.agent_id)
        if agent is None:
            agent = AgentRecord(agent_id=profile.agent_id, order=len(self._agents), profile=profile)
            self._agents[profile.agent_id] = agent
        agent.set_profile(profile)
        if self._nat is not None:
            self._nat.profile(agent, self._scan_list(agent))
        agent.logged_in = True
        agent.paused = None
        agent.pending_logout = False
        agent.misses = 0
        agent.not_before = self._now
        agent.idle_since = self._now
        for qname in profile.queues:
            self._queues[qname].members[agent.agent_id] = None
        self._staffing(agent)
        self._refresh(agent)
        self._route_agent(agent)

    def _on_agent_logged_out(self, ev: AgentLoggedOut, validate: bool) -> None:
        if validate:
            agent = self._known_agent(ev.agent_id)
            if not agent.logged_in:
                raise InvalidAgentState(f"agent {ev.agent_id!r} is not logged in")
            if agent.pending_logout:
                raise InvalidAgentState(
                    f"agent {ev.agent_id!r} is already logging out (waiting for its calls to end)"
                )
            return
        agent = self._agents[ev.agent_id]
        requeued: list[CallRecord] = []
        for session in list(agent.sessions.values()):
            if session.state is SessionState.RINGING:
                call = self._calls[session.call_id]  # a ringing session's call is live
                if self._withdraw(agent, call, "agent-logged-out"):
                    requeued.append(call)
        self._end_wrapups(agent)
        if agent.sessions:
            agent.pending_logout = True
            self._staffing(agent)
            self._refresh(agent)
        else:
            self._complete_logout(agent)
        for call in requeued:
            self._requeue(call, "agent-logged-out")

    def _withdraw(self, agent: AgentRecord, call: CallRecord, reason: str) -> bool:
        """Cancel the agent's ringing offer of ``call`` through no fault of the
        agent (no miss is counted). True when nobody rings for the call any
        more, so the caller must put it back in its queue."""
        call.offers.remove(agent.agent_id)
        del agent.sessions[call.seq]
        self._emit(
            CancelOffer(at=self._now, call_id=call.call_id, agent_id=agent.agent_id, reason=reason)
        )
        if call.offers:
            return False
        call.ring_round += 1
        return True

    def _on_agent_paused(self, ev: AgentPaused, validate: bool) -> None:
        if validate:
            agent = self._known_agent(ev.agent_id)
            if not agent.logged_in:
                raise InvalidAgentState(f"agent {ev.agent_id!r} is logged out and cannot pause")
            if not isinstance(ev.reason, str) or not ev.reason:
                raise InvalidValue(
                    f"agent {ev.agent_id!r}: pause reason must be a non-empty string"
                )
            return
        agent = self._agents[ev.agent_id]
        agent.paused = ev.reason
        self._staffing(agent)
        self._refresh(agent)

    def _on_agent_resumed(self, ev: AgentResumed, validate: bool) -> None:
        if validate:
            agent = self._known_agent(ev.agent_id)
            if agent.paused is None or not agent.logged_in:
                raise InvalidAgentState(
                    f"agent {ev.agent_id!r} is {agent.state().value}, not paused"
                )
            return
        agent = self._agents[ev.agent_id]
        agent.paused = None
        agent.misses = 0
        self._staffing(agent)
        self._refresh(agent)
        self._route_agent(agent)

    def _on_agent_skills_changed(self, ev: AgentSkillsChanged, validate: bool) -> None:
        if validate:
            self._known_agent(ev.agent_id)
            validate_skills(ev.skills, f"agent {ev.agent_id!r}")
            return
        agent = self._agents[ev.agent_id]
        agent.set_profile(agent.profile.with_skills(ev.skills))
        self._staff_gen += 1
        if self._nat is not None and agent.slot >= 0:
            self._nat.profile(agent, self._scan_list(agent))
        if not agent.logged_in:
            return
        # Takes effect at once: an offer the agent no longer qualifies for is
        # withdrawn (not a miss) and the call goes back to its place.
        requeued: list[CallRecord] = []
        for session in list(agent.sessions.values()):
            if session.state is not SessionState.RINGING:
                continue
            call = self._calls[session.call_id]  # a ringing session's call is live
            if call.requirement.met_by(agent.skills):
                continue
            if self._withdraw(agent, call, "skills-changed"):
                requeued.append(call)
        self._refresh(agent)
        for call in requeued:
            self._requeue(call, "skills-changed")
        self._route_agent(agent)

    def _on_callback_requested(self, ev: CallbackRequested, validate: bool) -> None:
        if validate:
            call = self._live_call(ev.call_id)
            if call.callback:
                raise InvalidCallState(f"call {ev.call_id!r} is already a callback")
            if call.state is not CallState.WAITING:
                raise InvalidCallState(
                    f"call {ev.call_id!r} is {call.state.value}; only a waiting call can "
                    "become a callback"
                )
            if self._queues[call.queue].config.callback is None:
                raise InvalidCallState(
                    f"call {ev.call_id!r}: queue {call.queue!r} has no callback policy"
                )
            if ev.number is not None and (not isinstance(ev.number, str) or not ev.number):
                raise InvalidValue(
                    f"call {ev.call_id!r}: callback number must be a non-empty string or None, "
                    f"got {ev.number!r}"
                )
            return
        call = self._calls[ev.call_id]
        caller = call.attributes.get("caller")
        call.callback = True
        call.callback_offered = True
        call.number = (
            ev.number if ev.number is not None else (caller if isinstance(caller, str) else None)
        )
        call.next_announce = None  # nobody is on the line to hear them
        call.announce_timer = -1
        call.max_wait_timer = -1  # a callback keeps its place past the line's maximum wait

    def _on_callback_unanswered(self, ev: CallbackUnanswered, validate: bool) -> None:
        if validate:
            call = self._live_call(ev.call_id)
            if not call.callback or call.state is not CallState.RINGING:
                what = "a callback" if call.callback else "not a callback"
                raise InvalidCallState(
                    f"call {ev.call_id!r} is {call.state.value} and {what}; only a callback "
                    "being dialled can go unanswered"
                )
            return
        self._callback_unanswered(self._calls[ev.call_id])

    def _on_callback_cancelled(self, ev: CallbackCancelled, validate: bool) -> None:
        if validate:
            call = self._live_call(ev.call_id)
            if not call.callback:
                raise InvalidCallState(
                    f"call {ev.call_id!r} is {call.state.value} and not a callback; a caller "
                    "on the line who hangs up is CallAbandoned"
                )
            return
        call = self._calls[ev.call_id]
        if call.state is CallState.WAITING:
            self._dequeue(call)
        released = self._release_offers(call, "callback-cancelled")
        for e in self._ests:
            e.on_left(call.queue, self._now, call.seq)
        self._finish(call, CallState.CALLBACK_CANCELLED)
        self._reroute(released)

    def _callback_policy(self, call: CallRecord) -> CallbackPolicy:
        return self._queues[call.queue].config.callback or _DEFAULT_CALLBACK

    def _callback_unanswered(self, call: CallRecord) -> None:
        """A callback attempt found nobody: free the reserved agent (no miss),
        then retry later at the same place, or record the callback as failed."""
        released = self._release_offers(call, "callback-unanswered")
        call.ring_round += 1
        call.attempts += 1
        policy = self._callback_policy(call)
        if call.attempts > policy.retries:
            self._emit(
                CallbackFailed(
                    at=self._now, call_id=call.call_id, queue=call.queue, attempts=call.attempts
                )
            )
            for e in self._ests:
                e.on_left(call.queue, self._now, call.seq)
            self._finish(call, CallState.CALLBACK_FAILED)
        else:
            call.state = CallState.CALLBACK_PENDING
            self._schedule(self._after(policy.retry_delay), _RETRY, call, call.attempts)
        self._reroute(released)

    def _release_offers(self, call: CallRecord, reason: str) -> list[AgentRecord]:
        """End every offer (or callback reservation) of ``call`` through no
        fault of the agents (no miss), telling the adapter why; return the
        agents released, to be refreshed and routed once the call is settled."""
        released = []
        for aid in call.offers:
            agent = self._agents[aid]
            del agent.sessions[call.seq]
            self._emit(CancelOffer(at=self._now, call_id=call.call_id, agent_id=aid, reason=reason))
            released.append(agent)
        call.offers = []
        return released

    def _reroute(self, agents: list[AgentRecord]) -> None:
        """Agents who gained capacity take their next calls."""
        for agent in agents:
            self._refresh(agent)
            self._route_agent(agent)

    # ------------------------------------------------------------ validation

    def _live_call(self, call_id: str) -> CallRecord:
        call = self._calls.get(call_id) if isinstance(call_id, str) else None
        if call is None:
            raise UnknownCall(f"no live call {call_id!r} (never arrived, or already finished)")
        return call

    def _known_agent(self, agent_id: str) -> AgentRecord:
        agent = self._agents.get(agent_id) if isinstance(agent_id, str) else None
        if agent is None:
            raise UnknownAgent(f"no agent {agent_id!r} has ever logged in")
        return agent

    def _outstanding_offer(self, call_id: str, agent_id: str) -> None:
        call = self._live_call(call_id)
        self._known_agent(agent_id)
        if call.state is not CallState.RINGING or agent_id not in call.offers:
            ringing = ", ".join(call.offers) or "nobody"
            raise NoSuchOffer(
                f"call {call_id!r} is {call.state.value} (ringing {ringing}); "
                f"no offer to agent {agent_id!r} is outstanding"
            )

    # ------------------------------------------------------------- mechanics

    def _emit(self, action: Action) -> None:
        self._actions.append(action)

    def _after(self, delay: float) -> float:
        """The instant ``delay`` seconds from now. A positive delay always
        moves time forward: when it is below the clock's resolution at this
        instant (``now + delay == now``), the deadline is the next representable
        instant after now, so a repeating deadline can never fire at one
        instant forever."""
        now = self._now
        when = now + delay
        if delay > 0 and when <= now:
            when = math.nextafter(now, math.inf)
        return when

    def _schedule(self, when: float, kind: int, rec: Any, token: Any = None) -> int:
        """Arm a deadline and return its scheduling number. Deadlines fire in
        the order (instant, scheduling number): the order they were armed in,
        among those due at one instant."""
        tseq = self._timer_seq
        self._timer_seq += 1
        heapq.heappush(self._timers, (when, tseq, kind, rec, token))
        return tseq

    def _timer_live(self, tseq: int, kind: int, rec: Any, token: Any) -> bool:
        """True while the record a deadline names still expects it.

        Liveness only ever goes from true to false: each check compares with
        state that is never restored once changed (a scheduling number held by
        the record, a ring round, an attempt count, a session object), so
        dropping a dead deadline early, or late, changes no decision."""
        if kind == _WRAP:
            s: Session = token
            return rec.sessions.get(s.seq) is s and s.state is SessionState.WRAP_UP
        if kind == _AGENT_WAKE:
            return bool(rec.wake_timer == tseq)
        call: CallRecord = rec
        if self._calls.get(call.call_id) is not call:
            return False  # the call has ended (its id may be live again: another call)
        if kind == _RING:
            return call.state is CallState.RINGING and call.ring_round == token
        if kind == _STAGE:
            return call.stage_timer == tseq
        if kind == _MAX_WAIT:
            return call.max_wait_timer == tseq
        if kind == _ANNOUNCE:
            return call.announce_timer == tseq
        if kind == _RETRY:
            return call.state is CallState.CALLBACK_PENDING and call.attempts == token
        return call.recheck_timer == tseq

    def _drop_dead_timers(self) -> None:
        """Pop dead deadlines off the top of the heap, so that the earliest
        one left is live and :meth:`next_deadline` is a pure O(1) read. Runs
        at the end of every event and advance, the only times liveness changes."""
        timers = self._timers
        while timers:
            _, tseq, kind, rec, token = timers[0]
            if self._timer_live(tseq, kind, rec, token):
                return
            heapq.heappop(timers)

    def _fire(self, kind: int, rec: Any, token: Any) -> None:
        if kind == _RING:
            call: CallRecord = rec
            if call.callback:
                self._callback_unanswered(call)  # the customer did not pick up in time
                return
            missed = [self._agents[aid] for aid in call.offers]
            call.offers = []
            call.ring_round += 1
            for who in missed:
                del who.sessions[call.seq]
                self._emit(
                    CancelOffer(
                        at=self._now,
                        call_id=call.call_id,
                        agent_id=who.agent_id,
                        reason="ring-timeout",
                    )
                )
                self._miss(who, call.queue)
            self._requeue(call, "ring-timeout")
            for who in missed:
                self._route_agent(who)
        elif kind == _WRAP:
            agent: AgentRecord = rec
            del agent.sessions[token.seq]
            agent.idle_since = self._now
            self._refresh(agent)
            self._route_agent(agent)
        elif kind == _AGENT_WAKE:
            agent = rec
            agent.wake_at = None
            agent.wake_timer = -1
            self._refresh(agent)
            self._route_agent(agent)
        elif kind == _STAGE:
            call = rec
            call.stage_timer = -1
            self._enter_stage(call, token)
            if call.state is CallState.WAITING:
                self._route_call(call)
        elif kind == _MAX_WAIT:
            call = rec
            call.max_wait_timer = -1
            # A call ringing now exits when its offer ends (see _requeue).
            if call.state is CallState.WAITING:
                rules = self._queue_rules(call.queue)
                assert rules is not None
                self._exit_waiting(call, rules.on_max_wait, "max-wait")
        elif kind == _ANNOUNCE:
            call = rec
            call.next_announce = None
            call.announce_timer = -1
            ann = self._queues[call.queue].config.announce
            if ann is None or call.callback or call.state is CallState.CONNECTED:
                return
            if call.state is CallState.WAITING:
                self._announce(call, ann.min_change)
            self._arm_announce(call, self._after(ann.every))
        elif kind == _RETRY:
            self._requeue(rec, "callback-retry")
        else:
            call = rec
            call.recheck_at = None
            call.recheck_timer = -1
            if call.state is CallState.WAITING:
                self._route_call(call)

    def _arm_announce(self, call: CallRecord, when: float) -> None:
        call.next_announce = when
        call.announce_timer = self._schedule(when, _ANNOUNCE, call)

    def _enqueue(self, call: CallRecord, reason: str) -> None:
        q = self._queues[call.queue]
        call.state = CallState.WAITING
        q.waiting[call.key] = call
        if self._nat is not None:
            self._nat.put(call)
        position = q.waiting.index(call.key) + 1
        self._emit(
            Queued(
                at=self._now,
                call_id=call.call_id,
                queue=call.queue,
                position=position,
                reason=reason,
                rule=call.rule,
            )
        )
        rules = self._queue_rules(call.queue)
        if (
            rules is not None
            and rules.max_wait is not None
            and call.max_wait_timer < 0
            and not call.callback
        ):
            # Armed once per queue entered; it stays armed while the call rings.
            call.max_wait_timer = self._schedule(_max_wait_end(call, rules), _MAX_WAIT, call)

    def _requeue(self, call: CallRecord, reason: str) -> None:
        """Put a call whose offer ended back at its place, unless it has
        reached its queue's maximum wait meanwhile (then it exits)."""
        rules = self._queue_rules(call.queue)
        if rules is not None:
            if (
                rules.max_wait is not None
                and not call.callback
                and self._now >= _max_wait_end(call, rules)
            ):
                self._exit_outcome_or_move(call, rules.on_max_wait, "max-wait")
                return
            if rules.leave_empty is not None and not self._queues[call.queue].members:
                self._exit_outcome_or_move(call, rules.leave_empty, "leave-empty")
                return
        self._enqueue(call, reason)
        self._route_call(call)
        if call.state is CallState.WAITING:
            self._start_announcements(call)

    def _queue_rules(self, queue: str) -> QueueRules | None:
        return None if self._plan is None else self._plan.queues.get(queue)

    def _exit_waiting(self, call: CallRecord, exit_: Exit, reason: str) -> None:
        """A waiting call leaves its queue through ``exit_``."""
        self._dequeue(call)
        self._exit_outcome_or_move(call, exit_, reason)

    def _dequeue(self, call: CallRecord) -> None:
        """Take a waiting call out of its queue (and out of the native core)."""
        del self._queues[call.queue].waiting[call.key]
        if self._nat is not None:
            self._nat.remove(call)

    def _exit_outcome_or_move(self, call: CallRecord, exit_: Exit, reason: str) -> None:
        """A live call that is in no queue and rings nobody leaves through
        ``exit_``: it moves to another queue, or ends with the exit's outcome."""
        if exit_.kind == "queue":
            assert exit_.target is not None
            self._emit(
                Overflow(
                    at=self._now,
                    call_id=call.call_id,
                    queue=call.queue,
                    target_queue=exit_.target,
                    reason=reason,
                )
            )
            self._move(call, exit_.target, None, keep_arrival=True)
            self._enter(call, "overflow")
            return
        for e in self._ests:
            e.on_left(call.queue, self._now, call.seq)
        del self._calls[call.call_id]
        self._exit_outcome(call.call_id, call.queue, exit_, reason)

    def _exit_outcome(self, call_id: str, queue: str, exit_: Exit, reason: str) -> None:
        """Record a terminal exit (destination, self-service, reject)."""
        now = self._now
        if exit_.kind == "destination":
            self._outcomes[CallState.OVERFLOWED] += 1
            self._emit(
                Overflow(
                    at=now, call_id=call_id, queue=queue, destination=exit_.target, reason=reason
                )
            )
        elif exit_.kind == "self-service":
            self._outcomes[CallState.SELF_SERVICE] += 1
            callback_at = self._next_open(queue) if exit_.callback_next_open else None
            self._emit(
                SelfService(
                    at=now, call_id=call_id, queue=queue, reason=reason, callback_at=callback_at
                )
            )
        else:
            assert exit_.kind == "reject"
            self._outcomes[CallState.REJECTED] += 1
            self._emit(Reject(at=now, call_id=call_id, queue=queue, reason=reason))

    def _next_open(self, queue: str) -> float | None:
        rules = self._queue_rules(queue)
        if rules is None or rules.schedule is None:
            return None
        assert self._plan is not None
        return self._plan.schedules[rules.schedule].next_open(self._now)

    def _move(
        self,
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
            call.arrived = self._now
        call.queue = queue
        call.entered = self._now
        call.max_wait_timer = -1  # the new queue's own maximum wait applies
        call.key = self._policy_key(
            call.call_id,
            queue,
            call.seq,
            call.arrived,
            call.priority,
            call.emergency,
            call.attributes,
        )
        call.preferred_agent = None
        req = requirement if requirement is not None else self._queues[queue].config.requirement
        call.stages = (Stage(req, (), False, None),)
        call.stage_gen += 1
        self._enter_stage(call, 0)

    def _update_surge(self) -> None:
        """Enter or leave surge mode per queue (with hysteresis)."""
        plan = self._plan
        if plan is None:
            return
        for name, rules in plan.queues.items():
            surge = rules.surge
            if surge is None:
                continue
            q = self._queues[name]
            n = len(q.waiting)
            if not q.surge and n >= surge.enter_waiting:
                q.surge = True
                self._emit(SurgeMode(at=self._now, queue=name, active=True, waiting=n))
            elif q.surge and n <= surge.leave_waiting:
                q.surge = False
                self._emit(SurgeMode(at=self._now, queue=name, active=False, waiting=n))

    def _finish(self, call: CallRecord, outcome: CallState) -> None:
        call.state = outcome
        self._outcomes[outcome] += 1
        del self._calls[call.call_id]

    def _miss(self, agent: AgentRecord, queue: str) -> None:
        policy = self._queues[queue].config.no_answer
        self._record_answer(agent, False)
        agent.misses += 1
        agent.not_before = max(agent.not_before, self._after(policy.delay))
        if (
            policy.auto_pause_after is not None
            and agent.misses >= policy.auto_pause_after
            and agent.paused is None
            and agent.logged_in
        ):
            agent.paused = policy.pause_reason
            self._staffing(agent)
            self._emit(
                PauseAgent(at=self._now, agent_id=agent.agent_id, reason=policy.pause_reason)
            )
        self._refresh(agent)

    def _record_answer(self, agent: AgentRecord, answered: bool) -> None:
        guard = self._plan.load_guard if self._plan is not None else None
        if guard is None:
            return
        agent.answers.append(answered)
        if len(agent.answers) > guard.window:
            del agent.answers[0]

    def _end_wrapups(self, agent: AgentRecord) -> None:
        for seq in [k for k, s in agent.sessions.items() if s.state is SessionState.WRAP_UP]:
            del agent.sessions[seq]

    def _complete_logout(self, agent: AgentRecord) -> None:
        agent.logged_in = False
        agent.pending_logout = False
        agent.paused = None
        agent.wake_at = None
        agent.wake_timer = -1
        self._staffing(agent)
        emptied = []
        for qname in agent.profile.queues:
            q = self._queues[qname]
            q.members.pop(agent.agent_id, None)
            q.free.pop(agent.agent_id, None)
            if not q.members:
                emptied.append(qname)
        if self._nat is not None:
            self._nat.sync(agent, False, False)
        for qname in emptied:
            rules = self._queue_rules(qname)
            if rules is None or rules.leave_empty is None:
                continue
            for call in list(self._queues[qname].waiting.values()):
                self._exit_waiting(call, rules.leave_empty, "leave-empty")

    def _refresh(self, agent: AgentRecord) -> None:
        """Recompute whether the agent is in its queues' free sets, and make
        sure a wake-up is pending for the end of its no-answer delay."""
        now = self._now
        queues = agent.profile.queues
        nat = self._nat
        if nat is not None:
            # The core decides (it holds the sessions); the free sets follow
            # only when the answer changes.
            offerable = nat.sync(agent, _available(agent, now), self._is_guarded(agent))
            if queues:
                first = self._queues[next(iter(queues))]
                if (agent.agent_id in first.free) == offerable:
                    queues = {}
        else:
            offerable = agent.offerable(now)
        for qname in queues:
            q = self._queues[qname]
            if offerable:
                q.free[agent.agent_id] = None
            else:
                q.free.pop(agent.agent_id, None)
        if agent.logged_in and agent.not_before > now:
            self._wake_agent(agent, agent.not_before)

    def _is_guarded(self, agent: AgentRecord) -> bool:
        guard = self._plan.load_guard if self._plan is not None else None
        return guard is not None and _guarded(agent, guard)

    def _wake_agent(self, agent: AgentRecord, when: float) -> None:
        if agent.wake_at is None or agent.wake_at <= self._now or when < agent.wake_at:
            agent.wake_at = when
            agent.wake_timer = self._schedule(when, _AGENT_WAKE, agent)

    def _recheck_call(self, call: CallRecord, when: float) -> None:
        if call.recheck_at is None or call.recheck_at <= self._now or when < call.recheck_at:
            call.recheck_at = when
            call.recheck_timer = self._schedule(when, _CALL_RECHECK, call)

    def _route_call(self, call: CallRecord) -> None:
        """Offer a waiting call to the best free eligible agent(s), or schedule
        a recheck for when a delay that holds back a free agent ends."""
        q = self._queues[call.queue]
        now = self._now
        if self._nat is not None:
            chosen, weights, soonest = self._nat.route_call(call, now, q.rr_last)
            if chosen:
                if call.preferred_agent is None or chosen[0].agent_id != call.preferred_agent:
                    chosen = draw(q.config.strategy, chosen, weights, self._rng)
                self._offer(call, chosen)
            elif soonest < math.inf:
                self._recheck_call(call, soonest)
            return
        agents = self._agents
        qname = call.queue
        channel = call.channel
        candidates: list[AgentRecord] = []
        earliest = math.inf
        # Every agent in a free set is offerable (check() verifies it).
        for aid in self._pool(call):
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
            guard = self._plan.load_guard if self._plan is not None else None
            if guard is not None and len(candidates) > 1:
                trusted = [a for a in candidates if not _guarded(a, guard)]
                if trusted:
                    candidates = trusted
            self._offer(call, select_agents(q, call, candidates, self._rng))
        elif earliest < math.inf:
            self._recheck_call(call, earliest)

    def _pool(self, call: CallRecord) -> Iterable[str]:
        """The free agents who may serve the call: its queue's, then those of
        its current extra queues (each once)."""
        own = self._queues[call.queue].free
        if not call.extra_queues:
            return own
        pool = dict(own)
        for extra in call.extra_queues:
            pool.update(self._queues[extra].free)
        return pool

    def _route_agent(self, agent: AgentRecord) -> None:
        """While the agent has capacity, give it the best waiting call of the
        queues it serves; schedule a wake-up if a delay holds one back."""
        now = self._now
        if self._nat is not None:
            while True:
                taken, soonest = self._nat.route_agent(agent, _available(agent, now), now)
                for call in taken:
                    self._offer(call, [agent])
                if len(taken) < 64:
                    break
            if soonest < math.inf:
                self._wake_agent(agent, soonest)
            return
        while agent.offerable(now):
            free = agent.free_channels()
            best: CallRecord | None = None
            best_rank: tuple[int, float, int] | None = None
            earliest = math.inf
            for qname, own in self._scan_list(agent):
                if own is not None and best_rank is not None and own.priority > best_rank[0]:
                    continue
                q = self._queues[qname]
                waiting = q.waiting
                for key in waiting:
                    call = waiting[key]
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
                    self._wake_agent(agent, earliest)
                return
            self._offer(best, [agent])

    def _scan_list(self, agent: AgentRecord) -> Iterable[tuple[str, Any]]:
        """Queues an agent looks in for work: its own (with its membership),
        then queues whose relaxation steps may borrow its queues' agents (with
        ``None``: the membership is found per call). Without borrowing (no
        plan steps add queues) this is the profile's own view, with no copy."""
        own = agent.profile.queues
        if not self._borrowers:
            return own.items()
        out: list[tuple[str, Any]] = list(own.items())
        seen = set(own)
        for qname in own:
            for borrower in self._borrowers.get(qname, ()):
                if borrower not in seen:
                    seen.add(borrower)
                    out.append((borrower, None))
        return out

    def _offer(self, call: CallRecord, agents: list[AgentRecord]) -> None:
        """Ring ``agents`` with ``call``; for a callback, reserve the first
        of them and tell the adapter to dial the customer instead."""
        q = self._queues[call.queue]
        self._dequeue(call)
        call.offered_at = self._now
        if call.callback:
            agents = agents[:1]
            timeout = float(self._callback_policy(call).dial_timeout)
        else:
            timeout = q.config.ring_timeout
            for e in self._ests:
                e.on_started(call.queue, self._now, self._now - call.entered, call.seq)
        call.state = CallState.RINGING
        call.offers = [a.agent_id for a in agents]
        call.ring_round += 1
        self._schedule(self._after(timeout), _RING, call, call.ring_round)
        for agent in agents:
            agent.sessions[call.seq] = Session(
                call_id=call.call_id,
                channel=call.channel,
                queue=call.queue,
                state=SessionState.RINGING,
                seq=call.seq,
            )
            q.rr_last = agent.order
            action: Action
            if call.callback:
                action = PlaceCallback(
                    at=self._now,
                    call_id=call.call_id,
                    agent_id=agent.agent_id,
                    queue=call.queue,
                    number=call.number,
                    attempt=call.attempts + 1,
                    dial_timeout=timeout,
                    attributes=call.attributes,
                )
            else:
                action = Offer(
                    at=self._now,
                    call_id=call.call_id,
                    agent_id=agent.agent_id,
                    queue=call.queue,
                    channel=call.channel,
                    attributes=call.attributes,
                    waited=self._now - call.arrived,
                    ring_timeout=timeout,
                    rule=call.rule,
                    last_agent=call.last_agent,
                )
            self._emit(action)
            self._refresh(agent)

    def _enter(self, call: CallRecord, reason: str) -> None:
        """A call enters its queue afresh (arrival, transfer, overflow): queue
        and route it; if it must wait, tell the estimators, start its
        announcements and offer a callback if the wait is long."""
        self._enqueue(call, reason)
        self._route_call(call)
        call.next_announce = None
        call.announce_timer = -1
        if call.state is not CallState.WAITING or not self._ests:
            return
        ctx = self._context(call)
        for e in self._ests:
            e.on_entered(ctx, call.seq)
        self._start_announcements(call, ctx)

    def _start_announcements(self, call: CallRecord, ctx: WaitContext | None = None) -> None:
        """A call that must wait (and is not a callback) hears its first
        announcement now or ``first`` seconds from now, and is offered a
        callback if its wait is long; nothing if one is already scheduled."""
        if call.callback or call.next_announce is not None or not self._ests:
            return
        config = self._queues[call.queue].config
        ann = config.announce
        if ann is not None:
            if ann.first == 0 or call.announced > 0:
                self._announce(call, None if call.announced == 0 else ann.min_change, ctx)
                self._arm_announce(call, self._after(ann.every))
            else:
                self._arm_announce(call, self._after(ann.first))
        elif config.callback is not None and not call.callback_offered:
            if ctx is None:
                ctx = self._context(call)
            self._offer_callback(call, self._ests[0].estimate(ctx))

    def _announce(
        self, call: CallRecord, min_change: float | None, ctx: WaitContext | None = None
    ) -> None:
        """Announce a waiting call's position and estimated wait (skipped when
        ``min_change`` is given and neither moved enough since the last), then
        offer a callback if the wait is over the queue's threshold."""
        config = self._queues[call.queue].config
        ann = config.announce
        assert ann is not None
        if ctx is None:
            ctx = self._context(call)
        est = self._ests[0].estimate(ctx)
        position = ctx.ahead + 1
        wait, phrase = spoken_wait(est.seconds)
        moved = (
            call.announced == 0
            or min_change is None
            or position != call.last_position
            or (wait != call.last_wait and not abs(wait - call.last_wait) < min_change)
        )
        if moved:
            segment = ",".join(
                f"{name}={call.attributes[name]}"
                for name in ann.segment_by
                if call.attributes.get(name) is not None
            )
            self._emit(
                Announce(
                    at=self._now,
                    call_id=call.call_id,
                    queue=call.queue,
                    position=position,
                    wait=wait,
                    phrase=phrase,
                    estimate=est.seconds,
                    low=est.low,
                    high=est.high,
                    segment=segment,
                    rotation=call.announced % ann.prompts,
                )
            )
            call.announced += 1
            call.last_position = position
            call.last_wait = wait
        if config.callback is not None:
            self._offer_callback(call, est, position)

    def _offer_callback(self, call: CallRecord, est: WaitEstimate, position: int = 0) -> None:
        policy = self._queues[call.queue].config.callback
        if policy is None or call.callback_offered or not est.seconds > policy.threshold:
            return
        call.callback_offered = True
        if position == 0:
            position = self._queues[call.queue].waiting.index(call.key) + 1
        self._emit(
            OfferCallback(
                at=self._now,
                call_id=call.call_id,
                queue=call.queue,
                position=position,
                estimate=est.seconds,
            )
        )

    # ----------------------------------------------------------- estimates

    def _staffing(self, agent: AgentRecord) -> None:
        """Recount the agent in its queues' staffing after a change of login,
        pause or logout (and invalidate the cached server counts)."""
        self._staff_gen += 1
        now = agent.logged_in and agent.paused is None and not agent.pending_logout
        if now == agent.staffed:
            return
        agent.staffed = now
        delta = 1 if now else -1
        for qname in agent.profile.queues:
            self._queues[qname].staffed += delta

    def _sample(self) -> None:
        """Tell the estimators about every queue whose waiting count or
        staffing changed in the step that just ran."""
        now = self._now
        for name, q in self._queues.items():
            current = (len(q.waiting), q.staffed)
            if current != q.sampled:
                q.sampled = current
                for e in self._ests:
                    e.on_sample(name, now, current[0], current[1])

    def _eligible_staff(
        self,
        queue: str,
        extras: tuple[str, ...],
        requirement: SkillRequirement,
        channel: Channel,
        region: str | None,
        regional: bool,
    ) -> list[AgentRecord]:
        """Staffed agents of the pool who meet the requirement and have
        capacity on the channel. Cost: O(members of the pool)."""
        out: list[AgentRecord] = []
        seen: set[str] = set()
        for qname in (queue, *extras):
            for aid in self._queues[qname].members:
                if aid in seen:
                    continue
                seen.add(aid)
                a = self._agents[aid]
                if not a.staffed or a.profile.capacity.get(channel, 0) <= 0:
                    continue
                if not requirement.met_by(a.skills):
                    continue
                if regional and region is not None and a.profile.region != region:
                    continue
                out.append(a)
        return out

    def _staff(
        self,
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
        key = (queue, extras, requirement, channel, region if regional else None)
        hit = self._staff_cache.get(key)
        if hit is not None and hit[0] == self._staff_gen:
            return hit[1], hit[2], hit[3]
        staff = self._eligible_staff(queue, extras, requirement, channel, region, regional)
        n = sum(a.profile.capacity.get(channel, 0) for a in staff)
        shared = bool(extras) or any(len(a.profile.queues) > 1 for a in staff)
        if len(self._staff_cache) > 4096:
            self._staff_cache.clear()
        self._staff_cache[key] = (self._staff_gen, staff, n, shared)
        return staff, n, shared

    def _context(self, call: CallRecord) -> WaitContext:
        """The estimators' view of a waiting call."""
        q = self._queues[call.queue]
        ahead = q.waiting.index(call.key)
        now = self._now
        head_wait = None
        if ahead > 0:
            head_wait = now - q.waiting.peekitem(0)[1].entered
        staff, servers, shared = self._staff(
            call.queue, call.extra_queues, call.requirement, call.channel, call.region,
            call.regional,
        )  # fmt: skip

        def competing() -> int:
            return self._competing(call, ahead, staff)

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

    def _competing(self, call: CallRecord, ahead: int, staff: list[AgentRecord]) -> int:
        """How many of the ``ahead`` calls before ``call`` in its queue one of
        ``staff`` (the agents who could take ``call``) could also take."""
        q = self._queues[call.queue]
        verdict: dict[tuple[SkillRequirement, Channel], bool] = {}
        n = 0
        for other in itertools.islice(q.waiting.values(), ahead):
            if other.requirement is call.requirement and other.channel is call.channel:
                n += 1
                continue
            k = (other.requirement, other.channel)
            shares = verdict.get(k)
            if shares is None:
                shares = verdict[k] = any(
                    other.requirement.met_by(a.skills)
                    and a.profile.capacity.get(other.channel, 0) > 0
                    for a in staff
                )
            n += shares
        return n

    def _pick(self, estimator: WaitEstimator | str | None) -> WaitEstimator:
        if estimator is None:
            if not self._ests:
                raise InvalidValue(
                    "this distributor has no estimator: pass estimators=[LearnedEstimator()] "
                    "(or configure announcements) to get wait estimates"
                )
            return self._ests[0]
        if isinstance(estimator, WaitEstimator):
            return estimator
        for e in self._ests:
            if e.name == estimator:
                return e
        names = ", ".join(e.name for e in self._ests) or "none"
        raise InvalidValue(f"no estimator named {estimator!r} (attached: {names})")

    @property
    def estimators(self) -> tuple[WaitEstimator, ...]:
        """The attached estimators; the first one drives announcements and
        callback offers."""
        return tuple(self._ests)

    def estimate(self, call_id: str, estimator: WaitEstimator | str | None = None) -> WaitEstimate:
        """The estimated wait of waiting call ``call_id`` from now, by the
        named (or given) estimator, else the first attached one.

        Raises :class:`UnknownCall`, :class:`InvalidCallState` (the call is
        not waiting) or :class:`InvalidValue` (no such estimator). Cost: that
        of the estimator, plus O(log n) for the position.
        """
        call = self._live_call(call_id)
        est = self._pick(estimator)
        if call.state is not CallState.WAITING:
            raise InvalidCallState(
                f"call {call_id!r} is {call.state.value}, not waiting; only a waiting call "
                "has a wait to estimate"
            )
        return est.estimate(self._context(call))

    def estimate_new(
        self,
        queue: str,
        *,
        priority: int = 0,
        emergency: bool = False,
        attributes: Mapping[str, Any] | None = None,
        requirement: SkillRequirement | Mapping[str, int] | None = None,
        channel: Channel = Channel.VOICE,
        estimator: WaitEstimator | str | None = None,
    ) -> WaitEstimate:
        """The wait a call would face if it joined ``queue`` now (for an IVR
        that says "the current wait is about 2 minutes" before queueing). The
        call is placed where the queue's policy would put it; routing plans
        are not applied. Changes nothing.

        Raises :class:`UnknownQueue`, or :class:`InvalidValue` for a bad
        priority, requirement or attribute.
        """
        q = self._queues.get(queue) if isinstance(queue, str) else None
        if q is None:
            raise UnknownQueue(f"no queue named {queue!r}")
        est = self._pick(estimator)
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
        key = self._policy_key(
            "(not arrived)", queue, self._call_seq, self._now, priority, emergency, attrs_
        )
        ahead = q.waiting.bisect_left(key)
        now = self._now
        head_wait = now - q.waiting.peekitem(0)[1].entered if ahead > 0 else None
        staff, servers, shared = self._staff(queue, (), req, channel, None, False)
        free = sum(
            1
            for aid in q.free
            if req.met_by(self._agents[aid].skills) and self._agents[aid].channel_free(channel)
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

    def call(self, call_id: str) -> CallView:
        """A view of a live call. Raises :class:`UnknownCall`."""
        c = self._live_call(call_id)
        position = None
        if c.state is CallState.WAITING:
            position = self._queues[c.queue].waiting.index(c.key) + 1
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

    def live_calls(self) -> list[str]:
        """The ids of every live call (waiting, ringing, connected or between
        callback attempts), in arrival order: what an adapter reconciles with
        its switch after a reconnect or a restart. O(n log n) in live calls."""
        calls = self._calls
        return sorted(calls, key=lambda cid: calls[cid].seq)

    def agent(self, agent_id: str) -> AgentView:
        """A view of an agent. Raises :class:`UnknownAgent`."""
        a = self._known_agent(agent_id)
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

    def waiting(self, queue: str) -> list[str]:
        """The ids of the calls waiting in ``queue``, in the order they will be
        served. Cost: O(n)."""
        q = self._queues.get(queue) if isinstance(queue, str) else None
        if q is None:
            raise UnknownQueue(f"no queue named {queue!r}")
        return [c.call_id for c in q.waiting.values()]

    @property
    def queues(self) -> Mapping[str, QueueConfig]:
        """The queue configurations by name."""
        return {name: q.config for name, q in self._queues.items()}

    def counts(self) -> dict[str, int]:
        """How many calls arrived and where they are now; ``arrived`` is the sum
        of all the others."""
        live = dict.fromkeys(_LIVE, 0)
        for c in self._calls.values():
            live[c.state] += 1
        out = {"arrived": self._arrived}
        for state, n in live.items():
            out[state.value] = n
        for state, n in self._outcomes.items():
            out[state.value] = n
        return out

    @property
    def transfers(self) -> int:
        """How many transfers the distributor has handled."""
        return self._transfers

    @property
    def plan(self) -> RoutingPlan | None:
        """The routing plan, if any."""
        return self._plan

    def surge_active(self, queue: str) -> bool:
        """Whether ``queue`` is in surge (degraded) mode."""
        q = self._queues.get(queue) if isinstance(queue, str) else None
        if q is None:
            raise UnknownQueue(f"no queue named {queue!r}")
        return q.surge

    def explain(self, call_id: str) -> Explanation:
        """Why a live call is where it is (see :class:`Explanation`).
        Raises :class:`UnknownCall`. Cost: O(agents of its pool)."""
        call = self._live_call(call_id)
        stage = call.stages[call.stage]
        nxt = stage.expires_at if call.stage < len(call.stages) - 1 else None
        reason = call.state.value
        delayed_until = None
        if call.state is CallState.WAITING:
            pool = [
                self._agents[aid]
                for qname in (call.queue, *call.extra_queues)
                for aid in self._queues[qname].members
            ]
            eligible = [a for a in pool if skill_eligible(a, call)]
            if not pool:
                reason = "no-agent-logged-in"
            elif not eligible:
                reason = "no-eligible-agent"
            else:
                q = self._queues[call.queue]
                times = [eligible_at(a, call, q, self._now) for a in eligible]
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

    def agent_states(self) -> dict[str, int]:
        """How many agents are in each :class:`AgentState` (logged-out included)."""
        out = {s.value: 0 for s in AgentState}
        for a in self._agents.values():
            out[a.state().value] += 1
        return out

    def snapshot(self) -> dict[str, Any]:
        """Every observable part of the state as plain data, for comparisons
        (before and after a refused event, across backends) and debugging."""
        return {
            "now": self._now,
            "next_deadline": self.next_deadline(),
            "deadlines": self._live_deadlines(),
            "counts": self.counts(),
            "rng": self._rng.getstate(),
            "callers": list(self._callers.items()),
            "transfers": self._transfers,
            "queues": {
                name: {
                    "waiting": [c.call_id for c in q.waiting.values()],
                    "members": sorted(q.members),
                    "free": sorted(q.free),
                    "rr_last": q.rr_last,
                    "surge": q.surge,
                    "staffed": q.staffed,
                }
                for name, q in self._queues.items()
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
                for cid, c in sorted(self._calls.items())
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
                for aid, a in sorted(self._agents.items())
            },
        }

    # ------------------------------------------------------------- invariants

    def check(self) -> None:
        """Assert every invariant; raise :class:`AssertionError` naming the
        first one broken. Cost: O(calls x agents); meant for tests."""
        now = self._now
        counts = self.counts()
        total = sum(v for k, v in counts.items() if k != "arrived")
        _require(counts["arrived"] == total, f"call counts do not add up: {counts}")
        pending = self._pending_timers()
        top = self._timers[0] if self._timers else None
        _require(
            top is None or self._timer_live(top[1], top[2], top[3], top[4]),
            "the earliest deadline in the heap is dead: next_deadline() would report it",
        )
        queued_ids: set[str] = set()
        for name, q in self._queues.items():
            keys = list(q.waiting.keys())
            for key, call in q.waiting.items():
                _require(
                    call.state is CallState.WAITING, f"{call.call_id} in {name} is {call.state}"
                )
                _require(
                    call.queue == name,
                    f"{call.call_id} waits in {name} but belongs to {call.queue}",
                )
                _require(call.key == key, f"{call.call_id} stored under a stale key")
                _require(call.call_id not in queued_ids, f"{call.call_id} waits twice")
                queued_ids.add(call.call_id)
            _require(keys == sorted(keys), f"queue {name} is out of policy order")
            for aid in q.members:
                a = self._agents[aid]
                _require(
                    a.logged_in and name in a.profile.queues, f"{aid} wrongly a member of {name}"
                )
            for aid in q.free:
                _require(aid in q.members, f"{aid} free in {name} but not a member")
        for cid, call in self._calls.items():
            _require(call.call_id == cid, "call index corrupt")
            seq = call.seq
            if call.state is CallState.WAITING:
                _require(cid in queued_ids, f"waiting call {cid} is in no queue")
                _require(not call.offers, f"waiting call {cid} has offers")
            elif call.state is CallState.RINGING:
                _require(bool(call.offers), f"ringing call {cid} rings nobody")
                _require(("ring", seq) in pending, f"ringing call {cid} has no ring timeout")
                for aid in call.offers:
                    s = self._agents[aid].sessions.get(seq)
                    _require(
                        s is not None and s.state is SessionState.RINGING,
                        f"{aid} not ringing {cid}",
                    )
                    _require(
                        skill_eligible(self._agents[aid], call), f"{aid} offered ineligible {cid}"
                    )
            elif call.state is CallState.CALLBACK_PENDING:
                _require(call.callback and not call.offers, f"pending callback {cid} is not one")
                _require(("retry", seq) in pending, f"pending callback {cid} has no retry deadline")
            elif call.state is CallState.CONNECTED:
                assert call.agent is not None
                s = self._agents[call.agent].sessions.get(seq)
                _require(
                    s is not None and s.state is SessionState.CONNECTED, f"{cid} not connected"
                )
            else:
                raise AssertionError(f"live call {cid} in final state {call.state}")
        for name, q in self._queues.items():
            staffed = sum(1 for aid in q.members if self._agents[aid].staffed)
            _require(staffed == q.staffed, f"{name} counts {q.staffed} staffed, not {staffed}")
        for aid, a in self._agents.items():
            _require(
                a.staffed == (a.logged_in and a.paused is None and not a.pending_logout),
                f"{aid} staffing flag is stale",
            )
            used: dict[Channel, int] = {}
            for seq, s in a.sessions.items():
                cid = s.call_id
                _require(s.seq == seq, f"{aid} holds {cid} under another call's number")
                used[s.channel] = used.get(s.channel, 0) + 1  # wrap-up holds its slot too
                if s.state is SessionState.WRAP_UP:
                    _require(
                        ("wrap", aid, seq) in pending, f"{aid} wrap-up of {cid} has no deadline"
                    )
                else:
                    live = self._calls.get(cid)
                    _require(
                        live is not None and live.seq == seq, f"{aid} holds finished call {cid}"
                    )
            for ch, n in used.items():
                _require(
                    n <= a.profile.capacity.get(ch, 0), f"{aid} over capacity on {ch.value}: {n}"
                )
                if ch in a.profile.exclusive:
                    _require(
                        len(used) == 1, f"{aid} mixes exclusive {ch.value} with other channels"
                    )
            if not a.logged_in:
                _require(not a.sessions, f"logged-out {aid} still holds calls")
            offerable = a.offerable(now)
            for qname in a.profile.queues:
                in_free = aid in self._queues[qname].free
                _require(in_free == offerable, f"{aid} free-set membership in {qname} is stale")
            if a.logged_in and a.not_before > now:
                _require(
                    a.wake_at is not None
                    and a.wake_at <= a.not_before
                    and ("wake", aid) in pending,
                    f"{aid} has no wake-up for the end of its no-answer delay",
                )
            if a.wake_timer >= 0:
                _require(("wake", aid) in pending, f"{aid} holds a wake-up that is not pending")
        # Relaxation and maximum wait are scheduled, never polled.
        for cid, call in self._calls.items():
            seq = call.seq
            for kind, armed in (
                ("stage", call.stage_timer), ("max-wait", call.max_wait_timer),
                ("announce", call.announce_timer), ("recheck", call.recheck_timer),
            ):  # fmt: skip
                if armed >= 0:
                    _require((kind, seq) in pending, f"{cid} holds a {kind} deadline not pending")
            _require(0 <= call.stage < len(call.stages), f"{cid} has no current stage")
            st = call.stages[call.stage]
            _require(
                (call.requirement, call.extra_queues, call.regional)
                == (st.requirement, st.extra_queues, st.regional),
                f"{cid} differs from its current stage",
            )
            if call.stage < len(call.stages) - 1 and call.state is not CallState.CONNECTED:
                _require(st.expires_at is not None and st.expires_at > now, f"{cid} stage expired")
                _require(("stage", seq) in pending, f"{cid} has no relaxation deadline")
            if call.state is CallState.WAITING and self._ests:
                ann = self._queues[call.queue].config.announce
                if ann is not None and not call.callback:
                    _require(
                        call.next_announce is not None
                        and call.next_announce > now
                        and ("announce", seq) in pending,
                        f"{cid} waits with no announcement scheduled",
                    )
            if call.state is CallState.WAITING and not call.callback:
                rules = self._queue_rules(call.queue)
                if rules is not None and rules.max_wait is not None:
                    _require(
                        _max_wait_end(call, rules) > now and ("max-wait", seq) in pending,
                        f"{cid} waits past its maximum without an exit deadline",
                    )
        # Surge modes follow their hysteresis; bounded memories stay bounded.
        _require(len(self._callers) <= self._remember, "caller memory over its bound")
        guard = self._plan.load_guard if self._plan is not None else None
        for aid, a in self._agents.items():
            limit = guard.window if guard is not None else 0
            _require(len(a.answers) <= limit, f"{aid} keeps more answers than the load guard needs")
        for name, q in self._queues.items():
            rules = self._queue_rules(name)
            surge = rules.surge if rules is not None else None
            if surge is None:
                _require(not q.surge, f"{name} is in surge mode without a surge rule")
            elif q.surge:
                _require(
                    len(q.waiting) > surge.leave_waiting, f"{name} should have left surge mode"
                )
            else:
                _require(len(q.waiting) < surge.enter_waiting, f"{name} should be in surge mode")
        # Work conservation.
        for q in self._queues.values():
            for call in q.waiting.values():
                for aid in self._pool(call):
                    a = self._agents[aid]
                    at = eligible_at(a, call, q, now)
                    if at is None or at == math.inf:  # never: no deadline can come
                        continue
                    _require(
                        at > now,
                        f"work conservation: waiting call {call.call_id} and free eligible agent {aid}",
                    )
                    call_ok = call.recheck_at is not None and call.recheck_at <= at
                    agent_ok = a.wake_at is not None and a.wake_at <= at
                    _require(
                        (call_ok and ("recheck", call.seq) in pending)
                        or (agent_ok and ("wake", aid) in pending),
                        f"no deadline pending for {call.call_id}/{aid} becoming eligible at {at}",
                    )
        if self._nat is not None:
            self._check_native(self._nat)

    def _check_native(self, nat: NativeCore) -> None:
        """The native core mirrors the state its decisions read: each queue's
        free agents and waiting calls, and nothing else."""
        held = nat.calls()
        for name, q in self._queues.items():
            _require(
                nat.free_agents(name) == set(q.free),
                f"native free list of {name} differs: {sorted(nat.free_agents(name))} "
                f"vs {sorted(q.free)}",
            )
            _require(
                nat.waiting(name) == len(q.waiting),
                f"native core holds {nat.waiting(name)} calls waiting in {name}, not "
                f"{len(q.waiting)}",
            )
            for waiting in q.waiting.values():
                _require(
                    waiting.slot >= 0
                    and nat.slot_state(waiting.slot) == 2
                    and held.get(waiting.slot) is waiting,
                    f"waiting call {waiting.call_id} is not in the native core",
                )
        for slot, call in held.items():
            _require(
                call.state is CallState.WAITING and self._calls.get(call.call_id) is call,
                f"native slot {slot} holds call {call.call_id}, which is not waiting",
            )
        for aid, a in self._agents.items():
            _require(a.slot >= 0, f"agent {aid} has no native index")

    def _live_deadlines(self) -> list[tuple[float, str, str, int]]:
        """The live deadlines in firing order: (instant, kind, the call or agent
        id, the call's sequence number or -1). Cost: O(t log t)."""
        out = []
        for when, tseq, kind, rec, token in sorted(self._timers, key=lambda t: t[:2]):
            if not self._timer_live(tseq, kind, rec, token):
                continue
            if kind == _WRAP:
                out.append((when, "wrap", rec.agent_id, token.seq))
            elif kind == _AGENT_WAKE:
                out.append((when, "wake", rec.agent_id, -1))
            else:
                out.append((when, _TIMER_NAMES[kind], rec.call_id, rec.seq))
        return out

    def _pending_timers(self) -> set[tuple[Any, ...]]:
        """Live deadlines not yet due: ("wrap", agent, call seq), ("wake",
        agent), or (kind, call seq)."""
        out: set[tuple[Any, ...]] = set()
        for when, kind, ref, seq in self._live_deadlines():
            if when < self._now:
                continue
            if kind == "wrap":
                out.add((kind, ref, seq))
            elif kind == "wake":
                out.add((kind, ref))
            else:
                out.add((kind, seq))
        return out


_TIMER_NAMES = {
    _RING: "ring", _WRAP: "wrap", _AGENT_WAKE: "wake", _CALL_RECHECK: "recheck",
    _STAGE: "stage", _MAX_WAIT: "max-wait", _ANNOUNCE: "announce", _RETRY: "retry",
}  # fmt: skip


def _max_wait_end(call: CallRecord, rules: QueueRules) -> float:
    """When a call's maximum wait in its queue ends: strictly after it entered
    (the next representable instant, if the clock is too large for the wait)."""
    assert rules.max_wait is not None
    end = call.entered + rules.max_wait
    return end if end > call.entered else math.nextafter(call.entered, math.inf)


def _widest(before: SkillRequirement, step: SkillRequirement) -> SkillRequirement:
    """The step's requirement, widened so that it asks nothing ``before`` did
    not: the skills both name, each at the lower of the two levels."""
    old = dict(before.items())
    new = {k: min(v, old[k]) for k, v in step.items() if k in old}
    if len(new) == len(step.items()) and all(new[k] == v for k, v in step.items()):
        return step
    return SkillRequirement(new)


def _guarded(agent: AgentRecord, guard: Any) -> bool:
    """True when the load guard should pass this agent over."""
    n = len(agent.answers)
    if n < guard.min_offers:
        return False
    return bool(sum(agent.answers) / n < guard.min_answer_rate)


def _available(agent: AgentRecord, now: float) -> bool:
    """Everything :meth:`AgentRecord.offerable` asks but a free channel."""
    return (
        agent.logged_in
        and agent.paused is None
        and not agent.pending_logout
        and agent.not_before <= now
    )


def _exact_number(x: object) -> bool:
    """A sort-key element every backend compares exactly."""
    if isinstance(x, int):
        return -EXACT <= x <= EXACT
    return isinstance(x, float) and not math.isnan(x)


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


# The id fields ``handle`` checks are non-empty strings, in this order.
_ID_FIELDS = ("call_id", "agent_id", "queue")

# Each event type's handler, and the id fields it has (checked before it runs).
_HANDLERS: dict[type[Event], tuple[Any, tuple[str, ...]]] = {
    tp: (handler, tuple(f for f in _ID_FIELDS if f in attrs.fields_dict(tp)))
    for tp, handler in (
        (CallArrived, Distributor._on_call_arrived),
        (CallAbandoned, Distributor._on_call_abandoned),
        (OfferAnswered, Distributor._on_offer_answered),
        (OfferDeclined, Distributor._on_offer_declined),
        (CallEnded, Distributor._on_call_ended),
        (CallTransferred, Distributor._on_call_transferred),
        (CallbackRequested, Distributor._on_callback_requested),
        (CallbackCancelled, Distributor._on_callback_cancelled),
        (CallbackUnanswered, Distributor._on_callback_unanswered),
        (AgentLoggedIn, Distributor._on_agent_logged_in),
        (AgentLoggedOut, Distributor._on_agent_logged_out),
        (AgentPaused, Distributor._on_agent_paused),
        (AgentResumed, Distributor._on_agent_resumed),
        (AgentSkillsChanged, Distributor._on_agent_skills_changed),
    )
}
