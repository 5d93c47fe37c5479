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

Where each rule lives. This module is the façade: construction and
configuration checks, the clock, and the two entry points (``handle`` checks an
event, then runs its type's two handlers: a check, which raises for a bad
event and changes nothing, and an apply, given what the check found, which
changes the state and never raises; ``advance`` fires due deadlines). The
rules are functions over the distributor's state, one module per concept:

- ``_calls``: arrivals (plan rules, exits, stages, preferred agent), abandons, transfers;
- ``_offers``: offers, answers, declines and ring timeouts, call ends, agent release;
- ``_agents``: login, logout, pause, resume, skill changes, wrap-up, free sets;
- ``_queueing``: enqueue, requeue, exits, moves between queues, surge, outcomes;
- ``_routing``: matching (which agent takes a call, which call an agent takes);
- ``_deadlines``: the deadline heap, liveness and what each deadline does;
- ``_experience``: announcements, callback offers and callbacks;
- ``_estimates``: the wait-estimate context and sampling;
- ``_views`` and ``_checks``: pure reads (views, snapshot, ``check()``).

With the native backend and a configuration the C engine covers
(estimators hear its hooks, and announcements and callback offers are
timed by it and worded through ``_engine_hooks``), the engine holds the
state and runs these rules in C, deciding as they do: ``_engine_facade``
hands it the events, ``_engine_state`` answers the reads (from C, or from
the records ``_materialize`` rebuilds), and an event past its numbers'
limits hands the state over to the functions above for good.
"""

from __future__ import annotations

import heapq
import math
import os
import random
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NoReturn

import attrs

from . import backend as _backend
from ._state import (
    AgentRecord,
    CallRecord,
    QueueRecord,
    Stage,
)
from .actions import (
    Action,
)
from .config import QueueConfig
from .errors import (
    AdvanceRequired,
    ConfigError,
    InvalidValue,
    TimeWentBackwards,
    UnknownQueue,
)
from .estimators import LearnedEstimator, WaitEstimate, WaitEstimator
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
from .plans import RoutingPlan
from .skills import (
    Channel,
    SkillRequirement,
    check_instant,
    freeze_sequence,
)

if TYPE_CHECKING:
    from ._engine_facade import EngineFacade
    from ._native.core import NativeCore

from . import (
    _agents,
    _calls,
    _checks,
    _deadlines,
    _engine_hooks,
    _estimates,
    _experience,
    _offers,
    _queueing,
    _views,
)
from ._state import FINAL
from ._views import AgentView, CallView, Explanation
from .policies import KEY_LENGTH

__all__ = ["KEY_LENGTH", "AgentView", "CallView", "Distributor", "Explanation"]


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
        backend = _backend.resolve(backend)
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
        self._outcomes = dict.fromkeys(FINAL, 0)
        self._arrived = 0
        self._actions: list[Action] = []
        self._plain_stages: dict[SkillRequirement, tuple[Stage, ...]] = {}
        # Queues a call in each queue may be moved to by queue exits
        # (configuration only: checked at arrival and transfer).
        self._reachable = {name: tuple(_calls.reachable(self, name)) for name in records}
        # The C engine holds the state when the backend is native and the
        # engine covers the configuration (see _engine_facade); else None,
        # and the Python handlers below run (mirroring into the core, _nat).
        self._eng: EngineFacade | None = None
        if backend == "native" and _engine_covers(self):
            from ._engine_facade import EngineFacade

            self._eng = EngineFacade(self)
            self._nat = None  # the engine owns its own core

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
        eng = self._eng
        if eng is not None:
            return eng.eng.next_deadline()
        timers = self._timers
        return timers[0][0] if timers else None

    def advance(self, now: float) -> list[Action]:
        """Move the clock to ``now``, firing every deadline due at or before it
        in order, and return the actions they produce."""
        if now.__class__ is not float or now - now != 0.0:  # else a finite float
            check_instant(now, "now")
        if now < self._now:
            raise TimeWentBackwards(
                f"advance to {now!r} is before the distributor's clock {self._now!r}"
            )
        eng = self._eng
        if eng is not None:
            st = eng.status  # the engine's status block, read in place
            if st.has_due and st.due <= now:
                return eng.advance(now)
            eng.set_clock(float(now))  # nothing due: only the clock moves
            return []
        self._actions = []
        timers = self._timers
        fired = False
        while timers and timers[0][0] <= now:
            when, tseq, kind, rec, token = heapq.heappop(timers)
            if not _deadlines.timer_live(self, tseq, kind, rec, token):
                continue
            fired = True
            self._now = when
            _deadlines.fire(self, kind, rec, token)
            if self._plan is not None:
                _queueing.update_surge(self)
            if self._ests:
                _estimates.sample(self)
        self._now = float(now)
        if fired:  # else nothing changed: the deadline on top is still live
            _deadlines.drop_dead_timers(self)
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
        entry = _HANDLERS.get(event.__class__)
        if entry is None:
            _refuse(self, event)  # not an event this distributor handles: raises
        check, apply, fields = entry
        now = event.now
        if now.__class__ is not float or now - now != 0.0:  # else a finite float
            check_instant(now, f"{type(event).__name__}.now")
        if now < self._now:
            raise TimeWentBackwards(
                f"{type(event).__name__} at {now!r} is before the distributor's clock {self._now!r}"
            )
        eng = self._eng
        if eng is None:
            timers = self._timers
            due = timers[0][0] if timers else None
        else:
            st = eng.status  # the engine's status block, read in place
            due = st.due if st.has_due else None
        if due is not None and due <= now:
            raise AdvanceRequired(
                f"{type(event).__name__} at {now!r}: a deadline is due at {due!r}; "
                f"call advance({now!r}) first"
            )
        for field in fields:
            value = getattr(event, field)
            if value.__class__ is not str or not value:
                _check_id(event, field, value)
        if eng is not None:
            handled = eng.handle(event)
            if handled is not None:
                return handled
            # the engine handed its state over (an event past its numbers)
        # The check raises for a bad event and changes nothing; what it found
        # (the call, the agent, the arrival's decision) goes to the apply.
        found = check(self, event)
        self._actions = []
        self._now = float(now)
        apply(self, event, found)
        if self._plan is not None:
            _queueing.update_surge(self)
        if self._ests:
            _estimates.sample(self)
        if self._timers:
            _deadlines.drop_dead_timers(self)
        out, self._actions = self._actions, []
        return out

    @property
    def queues(self) -> Mapping[str, QueueConfig]:
        """The queue configurations by name."""
        return {name: q.config for name, q in self._queues.items()}

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
        return _calls.surge_on(self, queue)

    # ------------------------------------------------ estimates, views, checks

    @property
    def estimators(self) -> tuple[WaitEstimator, ...]:
        """The attached estimators; the first one drives announcements and
        callback offers."""
        return _estimates.estimator_list(self)

    def estimate(self, call_id: str, estimator: WaitEstimator | str | None = None) -> WaitEstimate:
        """The estimated wait of waiting call ``call_id`` from now, by the
        named (or given) estimator, else the first attached one.

        Raises :class:`UnknownCall`, :class:`InvalidCallState` (the call is
        not waiting) or :class:`InvalidValue` (no such estimator). Cost: that
        of the estimator, plus O(log n) for the position (on the C engine,
        O(calls ahead), plus O(the pool's agents) after a change of their
        staffing).
        """
        eng = self._eng
        if eng is not None:
            got = _engine_hooks.estimate(eng, call_id, estimator)
            if got is not None:
                return got
        return _estimates.estimate_call(self._reads(), call_id, estimator)

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
        return _estimates.estimate_arrival(
            self._reads(),
            queue,
            priority=priority,
            emergency=emergency,
            attributes=attributes,
            requirement=requirement,
            channel=channel,
            estimator=estimator,
        )

    def call(self, call_id: str) -> CallView:
        """A view of a live call. Raises :class:`UnknownCall`."""
        eng = self._eng
        if eng is not None:
            return eng.call_view(call_id)
        return _views.call_view(self, call_id)

    def live_calls(self) -> list[str]:
        """The ids of every live call (waiting, ringing, connected or between
        callback attempts), in arrival order: what an adapter reconciles with
        its switch after a reconnect or a restart. O(n log n) in live calls."""
        return _views.live_call_ids(self._reads())

    def agent(self, agent_id: str) -> AgentView:
        """A view of an agent. Raises :class:`UnknownAgent`."""
        eng = self._eng
        if eng is not None:
            return eng.agent_view(agent_id)
        return _views.agent_view(self, agent_id)

    def waiting(self, queue: str) -> list[str]:
        """The ids of the calls waiting in ``queue``, in the order they will be
        served. Cost: O(n)."""
        return _views.waiting_ids(self._reads(), queue)

    def counts(self) -> dict[str, int]:
        """How many calls arrived and where they are now; ``arrived`` is the sum
        of all the others."""
        return _views.count_calls(self._reads())

    def explain(self, call_id: str) -> Explanation:
        """Why a live call is where it is (see :class:`Explanation`).
        Raises :class:`UnknownCall`. Cost: O(agents of its pool)."""
        return _views.explain_call(self._reads(), call_id)

    def agent_states(self) -> dict[str, int]:
        """How many agents are in each :class:`AgentState` (logged-out included)."""
        return _views.count_agent_states(self._reads())

    def snapshot(self) -> dict[str, Any]:
        """Every observable part of the state as plain data, for comparisons
        (before and after a refused event, across backends) and debugging."""
        return _views.snapshot_dict(self._reads())

    def check(self) -> None:
        """Assert every invariant; raise :class:`AssertionError` naming the
        first one broken. Cost: O(calls x agents); meant for tests."""
        eng = self._eng
        if eng is not None:
            eng.eng.check()
            return _checks.check_all(eng.shadow())
        return _checks.check_all(self)

    def _reads(self) -> Distributor:
        """What the reads read: this distributor's records, or, when the C
        engine holds the state, the same records materialized from it
        (built once per state; reading changes nothing)."""
        eng = self._eng
        return self if eng is None else eng.shadow()


def _engine_covers(d: Distributor) -> bool:
    """Whether the C engine covers ``d``'s configuration: a routing plan
    (if any) that :func:`_plan_covered` accepts (estimators hear the
    engine's hooks, and announcements and callback offers are timed by the
    engine and worded by the façade: :mod:`~acdcore._engine_hooks`;
    callbacks run in it).
    ``ACDCORE_ENGINE=0`` in the environment
    turns it off (the native backend then runs the Python handlers over the
    C matching core, as before the engine)."""
    if os.environ.get("ACDCORE_ENGINE", "1") == "0":
        return False
    if d._plan is not None and not _plan_covered(d._plan):
        return False
    limit = 2**31 - 1  # the engine keeps these in C ints
    for q in d._queues.values():
        c = q.config
        if c.announce is not None and not (
            math.isfinite(c.announce.first) and math.isfinite(c.announce.every)
        ):
            return False
        if (c.max_length or 0) > limit or (c.no_answer.auto_pause_after or 0) > limit:
            return False
        if c.callback is not None and c.callback.retries > limit:
            return False
    return True


def _plan_covered(plan: RoutingPlan) -> bool:
    """Whether the engine covers a routing plan: rules that choose a queue,
    priority, emergency flag, attributes, requirement and alert, with
    relaxation steps (requirements, added queues, expiries), or send the
    call away (a rule's exit) or reserve it for a preferred agent; queues'
    business hours (a closed queue's exit), maximum wait, join-empty and
    leave-empty exits, surge modes, the load guard, regional and
    skip-if-empty steps: all of a plan, within the engine's numbers."""
    if plan.load_guard is not None and plan.load_guard.window > 1 << 24:
        return False  # the engine keeps each agent's window in memory
    for rules in plan.queues.values():
        if rules.surge is not None and rules.surge.enter_waiting > 2**31 - 1:
            return False  # the engine keeps the thresholds in C ints
    return True


# The id fields ``handle`` checks are non-empty strings, in this order.
_ID_FIELDS = ("call_id", "agent_id", "queue")


def _check_id(event: Event, field: str, value: Any) -> None:
    """Raise unless ``value``, the event's id field ``field``, is a non-empty string."""
    if not isinstance(value, str) or not value:
        raise InvalidValue(
            f"{type(event).__name__}.{field} must be a non-empty string, got {value!r}"
        )


def _refuse(d: Distributor, event: object) -> NoReturn:
    """Refuse an object that is not an event type the distributor handles
    (an unknown :class:`Event` subclass, or not an event at all), with the
    first error :meth:`Distributor.handle` finds, in the same order as for
    a known type: what it is, its instant, its ids."""
    if not isinstance(event, Event):
        raise InvalidValue(f"not an acdcore event: {event!r}")
    name = type(event).__name__
    check_instant(event.now, f"{name}.now")
    if event.now < d._now:
        raise TimeWentBackwards(
            f"{name} at {event.now!r} is before the distributor's clock {d._now!r}"
        )
    due = d.next_deadline()
    if due is not None and due <= event.now:
        raise AdvanceRequired(
            f"{name} at {event.now!r}: a deadline is due at {due!r}; call advance({event.now!r}) first"
        )
    for field in _ID_FIELDS:
        value = getattr(event, field, None)
        if value is None and not hasattr(event, field):
            continue
        _check_id(event, field, value)
    raise InvalidValue(f"no handler for event type {name}")


# Each event type's check, its apply and the id fields it has (checked
# before the check runs). The check raises for a bad event and never
# mutates; the apply, given what the check returned, must not raise.
_HANDLERS: dict[type[Event], tuple[Any, Any, tuple[str, ...]]] = {
    tp: (check, apply, tuple(f for f in _ID_FIELDS if f in attrs.fields_dict(tp)))
    for tp, check, apply in (
        (CallArrived, _calls.check_call_arrived, _calls.apply_call_arrived),
        (CallAbandoned, _calls.check_call_abandoned, _calls.apply_call_abandoned),
        (OfferAnswered, _offers.check_offer_answered, _offers.apply_offer_answered),
        (OfferDeclined, _offers.check_offer_declined, _offers.apply_offer_declined),
        (CallEnded, _offers.check_call_ended, _offers.apply_call_ended),
        (CallTransferred, _calls.check_call_transferred, _calls.apply_call_transferred),
        (
            CallbackRequested,
            _experience.check_callback_requested,
            _experience.apply_callback_requested,
        ),
        (
            CallbackCancelled,
            _experience.check_callback_cancelled,
            _experience.apply_callback_cancelled,
        ),
        (
            CallbackUnanswered,
            _experience.check_callback_unanswered,
            _experience.apply_callback_unanswered,
        ),
        (AgentLoggedIn, _agents.check_agent_logged_in, _agents.apply_agent_logged_in),
        (AgentLoggedOut, _agents.check_agent_logged_out, _agents.apply_agent_logged_out),
        (AgentPaused, _agents.check_agent_paused, _agents.apply_agent_paused),
        (AgentResumed, _agents.check_agent_resumed, _agents.apply_agent_resumed),
        (
            AgentSkillsChanged,
            _agents.check_agent_skills_changed,
            _agents.apply_agent_skills_changed,
        ),
    )
}
