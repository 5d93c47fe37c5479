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
import math
import random
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from ._state import (
    AgentRecord,
    AgentState,
    CallRecord,
    CallState,
    QueueRecord,
    Session,
    SessionState,
)
from .actions import Action, CancelOffer, Offer, PauseAgent, Queued, Reject
from .config import AgentProfile, QueueConfig
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
from .events import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentResumed,
    AgentSkillsChanged,
    CallAbandoned,
    CallArrived,
    CallEnded,
    Event,
    OfferAnswered,
    OfferDeclined,
)
from .policies import CallFacts
from .router import eligible_at, opens_at, select_agents, skill_eligible
from .skills import Channel, check_instant, validate_skills

__all__ = ["AgentView", "CallView", "Distributor"]

# Timer kinds. A timer is (instant, sequence, kind, ref, token); it is stale
# (skipped) unless the record it names still expects it.
_RING = 0
_WRAP = 1
_AGENT_WAKE = 2
_CALL_RECHECK = 3


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
        self._queues = records
        self._rng = rng if rng is not None else random.Random(0)
        self._now = float(start)
        self._calls: dict[str, CallRecord] = {}
        self._agents: dict[str, AgentRecord] = {}
        self._timers: list[tuple[float, int, int, str, Any]] = []
        self._timer_seq = 0
        self._call_seq = 0
        self._callers: OrderedDict[str, str] = OrderedDict()
        self._remember = remember_callers
        self._outcomes = {CallState.COMPLETED: 0, CallState.ABANDONED: 0, CallState.REJECTED: 0}
        self._arrived = 0
        self._actions: list[Action] = []

    # ------------------------------------------------------------------ time

    @property
    def now(self) -> float:
        """The distributor's clock: the latest instant it was told about."""
        return self._now

    def next_deadline(self) -> float | None:
        """The next instant at which the distributor has something to do (a
        ring timeout, the end of a wrap-up or of a delay), or ``None``.

        Cost: O(1) amortised (stale timers are dropped as they surface).
        """
        timers = self._timers
        while timers:
            when, _, kind, ref, token = timers[0]
            if self._timer_live(when, kind, ref, token):
                return when
            heapq.heappop(timers)
        return None

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
        while timers and timers[0][0] <= now:
            when, _, kind, ref, token = heapq.heappop(timers)
            if not self._timer_live(when, kind, ref, token):
                continue
            self._now = when
            self._fire(kind, ref, token)
        self._now = float(now)
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
        for field in ("call_id", "agent_id", "queue"):
            value = getattr(event, field, None)
            if value is None and not hasattr(event, field):
                continue
            if not isinstance(value, str) or not value:
                raise InvalidValue(
                    f"{type(event).__name__}.{field} must be a non-empty string, got {value!r}"
                )
        handler = _HANDLERS.get(type(event))
        if handler is None:
            raise InvalidValue(f"no handler for event type {type(event).__name__}")
        handler(self, event, validate=True)
        self._actions = []
        self._now = float(event.now)
        handler(self, event, validate=False)
        out, self._actions = self._actions, []
        return out

    # Each _on_* handler runs twice: once with validate=True, which must only
    # raise and never mutate, then with validate=False, which must not raise.

    def _on_call_arrived(self, ev: CallArrived, validate: bool) -> None:
        if validate:
            if not isinstance(ev.call_id, str) or not ev.call_id:
                raise InvalidValue(f"call_id must be a non-empty string, got {ev.call_id!r}")
            if ev.call_id in self._calls:
                live = self._calls[ev.call_id]
                raise DuplicateCall(
                    f"call {ev.call_id!r} is already live ({live.state.value} in queue {live.queue!r})"
                )
            if ev.queue not in self._queues:
                raise UnknownQueue(f"call {ev.call_id!r}: no queue named {ev.queue!r}")
            if not isinstance(ev.channel, Channel):
                raise InvalidValue(f"call {ev.call_id!r}: channel {ev.channel!r} is not a Channel")
            if isinstance(ev.priority, bool) or not isinstance(ev.priority, int):
                raise InvalidValue(
                    f"call {ev.call_id!r}: priority must be an int, got {ev.priority!r}"
                )
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
            self._facts_key(ev, self._call_seq)  # may raise InvalidValue
            return
        q = self._queues[ev.queue]
        self._arrived += 1
        seq = self._call_seq
        self._call_seq += 1
        limit = q.config.max_length
        if limit is not None and len(q.waiting) >= limit:
            self._outcomes[CallState.REJECTED] += 1
            self._emit(
                Reject(at=self._now, call_id=ev.call_id, queue=ev.queue, reason="queue-full")
            )
            return
        requirement = ev.requirement if ev.requirement is not None else q.config.requirement
        caller = ev.attributes.get("caller")
        last_agent = self._callers.get(caller) if isinstance(caller, str) else None
        call = CallRecord(
            call_id=ev.call_id,
            seq=seq,
            queue=ev.queue,
            channel=ev.channel,
            attributes=ev.attributes,
            requirement=requirement,
            priority=ev.priority,
            emergency=ev.emergency,
            preferred_agent=ev.preferred_agent,
            arrived=self._now,
            entered=self._now,
            key=self._facts_key(ev, seq),
            last_agent=last_agent,
        )
        self._calls[call.call_id] = call
        self._enqueue(call, "arrived")
        self._route_call(call)

    def _on_call_abandoned(self, ev: CallAbandoned, validate: bool) -> None:
        if validate:
            call = self._live_call(ev.call_id)
            if call.state is CallState.CONNECTED:
                raise InvalidCallState(
                    f"call {ev.call_id!r} is connected to agent {call.agent!r}; "
                    "a connected call ends with CallEnded, not CallAbandoned"
                )
            return
        call = self._calls[ev.call_id]
        released: list[AgentRecord] = []
        if call.state is CallState.WAITING:
            del self._queues[call.queue].waiting[call.key]
        else:
            for aid in call.offers:
                agent = self._agents[aid]
                del agent.sessions[call.call_id]
                self._emit(
                    CancelOffer(
                        at=self._now, call_id=call.call_id, agent_id=aid, reason="caller-abandoned"
                    )
                )
                released.append(agent)
            call.offers = []
        self._finish(call, CallState.ABANDONED)
        for agent in released:
            self._refresh(agent)
            self._route_agent(agent)

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
        agent.sessions[call.call_id].state = SessionState.CONNECTED
        agent.calls_taken += 1
        agent.misses = 0
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
            del other.sessions[call.call_id]
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
        del agent.sessions[call.call_id]
        self._miss(agent, call.queue)
        if not call.offers:
            call.ring_round += 1
            self._enqueue(call, "declined")
            self._route_call(call)
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
        assert call.agent is not None and call.answered_at is not None
        agent = self._agents[call.agent]
        agent.talk_time += self._now - call.answered_at
        agent.last_call_end = self._now
        self._finish(call, CallState.COMPLETED)
        wrap = self._queues[call.queue].config.wrap_up
        if agent.pending_logout:
            del agent.sessions[call.call_id]
            self._end_wrapups(agent)
            if not agent.sessions:
                self._complete_logout(agent)
            return
        if wrap > 0:
            session = agent.sessions[call.call_id]
            session.state = SessionState.WRAP_UP
            session.until = self._now + wrap
            self._schedule(session.until, _WRAP, agent.agent_id, call.call_id)
            self._refresh(agent)
            self._route_agent(agent)
        else:
            del agent.sessions[call.call_id]
            agent.idle_since = self._now
            self._refresh(agent)
            self._route_agent(agent)

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
        agent.logged_in = True
        agent.paused = None
        agent.pending_logout = False
        agent.misses = 0
        agent.not_before = self._now
        agent.idle_since = self._now
        for qname in profile.queues:
            self._queues[qname].members[agent.agent_id] = None
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
        for cid, session in list(agent.sessions.items()):
            if session.state is SessionState.RINGING:
                call = self._calls[cid]
                call.offers.remove(agent.agent_id)
                del agent.sessions[cid]
                self._emit(
                    CancelOffer(
                        at=self._now,
                        call_id=cid,
                        agent_id=agent.agent_id,
                        reason="agent-logged-out",
                    )
                )
                if not call.offers:
                    call.ring_round += 1
                    requeued.append(call)
        self._end_wrapups(agent)
        if agent.sessions:
            agent.pending_logout = True
            self._refresh(agent)
        else:
            self._complete_logout(agent)
        for call in requeued:
            self._enqueue(call, "agent-logged-out")
            self._route_call(call)

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
        self._refresh(agent)
        self._route_agent(agent)

    def _on_agent_skills_changed(self, ev: AgentSkillsChanged, validate: bool) -> None:
        if validate:
            self._known_agent(ev.agent_id)
            validate_skills(ev.skills, f"agent {ev.agent_id!r}")
            return
        agent = self._agents[ev.agent_id]
        agent.set_profile(agent.profile.with_skills(ev.skills))
        if not agent.logged_in:
            return
        # Takes effect at once: an offer the agent no longer qualifies for is
        # withdrawn (not a miss) and the call goes back to its place.
        requeued: list[CallRecord] = []
        for cid, session in list(agent.sessions.items()):
            if session.state is not SessionState.RINGING:
                continue
            call = self._calls[cid]
            if call.requirement.met_by(agent.skills):
                continue
            call.offers.remove(agent.agent_id)
            del agent.sessions[cid]
            self._emit(
                CancelOffer(
                    at=self._now, call_id=cid, agent_id=agent.agent_id, reason="skills-changed"
                )
            )
            if not call.offers:
                call.ring_round += 1
                requeued.append(call)
        self._refresh(agent)
        for call in requeued:
            self._enqueue(call, "skills-changed")
            self._route_call(call)
        self._route_agent(agent)

    # ------------------------------------------------------------ validation

    def _live_call(self, call_id: str) -> CallRecord:
        call = self._calls.get(call_id)
        if call is None:
            raise UnknownCall(f"no live call {call_id!r} (never arrived, or already finished)")
        return call

    def _known_agent(self, agent_id: str) -> AgentRecord:
        agent = self._agents.get(agent_id)
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

    def _facts_key(self, ev: CallArrived, seq: int) -> tuple[float, ...]:
        policy = self._queues[ev.queue].config.policy
        facts = CallFacts(
            seq=seq,
            arrived=float(ev.now),
            priority=ev.priority,
            emergency=ev.emergency,
            attributes=ev.attributes,
        )
        try:
            key = policy.key(facts)
        except AcdError as exc:
            raise InvalidValue(f"call {ev.call_id!r}: {exc}") from None
        if not key or key[-1] != seq:
            raise ConfigError(
                f"policy {policy.name!r} returned key {key!r} not ending in the sequence"
            )
        return key

    # ------------------------------------------------------------- mechanics

    def _emit(self, action: Action) -> None:
        self._actions.append(action)

    def _schedule(self, when: float, kind: int, ref: str, token: Any = None) -> None:
        heapq.heappush(self._timers, (when, self._timer_seq, kind, ref, token))
        self._timer_seq += 1

    def _timer_live(self, when: float, kind: int, ref: str, token: Any) -> bool:
        if kind == _RING:
            call = self._calls.get(ref)
            return call is not None and call.state is CallState.RINGING and call.ring_round == token
        if kind == _WRAP:
            agent = self._agents[ref]
            s = agent.sessions.get(token)
            return s is not None and s.state is SessionState.WRAP_UP and s.until == when
        if kind == _AGENT_WAKE:
            return self._agents[ref].wake_at == when
        call = self._calls.get(ref)
        return call is not None and call.recheck_at == when

    def _fire(self, kind: int, ref: str, token: Any) -> None:
        if kind == _RING:
            call = self._calls[ref]
            missed = [self._agents[aid] for aid in call.offers]
            call.offers = []
            call.ring_round += 1
            for agent in missed:
                del agent.sessions[call.call_id]
                self._emit(
                    CancelOffer(
                        at=self._now,
                        call_id=call.call_id,
                        agent_id=agent.agent_id,
                        reason="ring-timeout",
                    )
                )
                self._miss(agent, call.queue)
            self._enqueue(call, "ring-timeout")
            self._route_call(call)
            for agent in missed:
                self._route_agent(agent)
        elif kind == _WRAP:
            agent = self._agents[ref]
            del agent.sessions[token]
            agent.idle_since = self._now
            self._refresh(agent)
            self._route_agent(agent)
        elif kind == _AGENT_WAKE:
            agent = self._agents[ref]
            agent.wake_at = None
            self._refresh(agent)
            self._route_agent(agent)
        else:
            call = self._calls[ref]
            call.recheck_at = None
            if call.state is CallState.WAITING:
                self._route_call(call)

    def _enqueue(self, call: CallRecord, reason: str) -> None:
        q = self._queues[call.queue]
        call.state = CallState.WAITING
        q.waiting[call.key] = call
        position = q.waiting.index(call.key) + 1
        self._emit(
            Queued(
                at=self._now,
                call_id=call.call_id,
                queue=call.queue,
                position=position,
                reason=reason,
            )
        )

    def _finish(self, call: CallRecord, outcome: CallState) -> None:
        call.state = outcome
        self._outcomes[outcome] += 1
        del self._calls[call.call_id]

    def _miss(self, agent: AgentRecord, queue: str) -> None:
        policy = self._queues[queue].config.no_answer
        agent.misses += 1
        agent.not_before = max(agent.not_before, self._now + policy.delay)
        if (
            policy.auto_pause_after is not None
            and agent.misses >= policy.auto_pause_after
            and agent.paused is None
            and agent.logged_in
        ):
            agent.paused = policy.pause_reason
            self._emit(
                PauseAgent(at=self._now, agent_id=agent.agent_id, reason=policy.pause_reason)
            )
        self._refresh(agent)

    def _end_wrapups(self, agent: AgentRecord) -> None:
        for cid in [c for c, s in agent.sessions.items() if s.state is SessionState.WRAP_UP]:
            del agent.sessions[cid]

    def _complete_logout(self, agent: AgentRecord) -> None:
        agent.logged_in = False
        agent.pending_logout = False
        agent.paused = None
        agent.wake_at = None
        for qname in agent.profile.queues:
            q = self._queues[qname]
            q.members.pop(agent.agent_id, None)
            q.free.pop(agent.agent_id, None)

    def _refresh(self, agent: AgentRecord) -> None:
        """Recompute whether the agent is in its queues' free sets, and make
        sure a wake-up is pending for the end of its no-answer delay."""
        now = self._now
        offerable = agent.offerable(now)
        for qname in agent.profile.queues:
            q = self._queues[qname]
            if offerable:
                q.free[agent.agent_id] = None
            else:
                q.free.pop(agent.agent_id, None)
        if agent.logged_in and agent.not_before > now:
            self._wake_agent(agent, agent.not_before)

    def _wake_agent(self, agent: AgentRecord, when: float) -> None:
        if agent.wake_at is None or agent.wake_at <= self._now or when < agent.wake_at:
            agent.wake_at = when
            self._schedule(when, _AGENT_WAKE, agent.agent_id)

    def _recheck_call(self, call: CallRecord, when: float) -> None:
        if call.recheck_at is None or call.recheck_at <= self._now or when < call.recheck_at:
            call.recheck_at = when
            self._schedule(when, _CALL_RECHECK, call.call_id)

    def _route_call(self, call: CallRecord) -> None:
        """Offer a waiting call to the best free eligible agent(s), or schedule
        a recheck for when a delay that holds back a free agent ends."""
        q = self._queues[call.queue]
        now = self._now
        agents = self._agents
        qname = call.queue
        channel = call.channel
        candidates: list[AgentRecord] = []
        earliest = math.inf
        # Every agent in q.free is offerable (check() verifies it).
        for aid in q.free:
            agent = agents[aid]
            if not agent.channel_free(channel):
                continue
            at = opens_at(agent, agent.profile.queues[qname], call, q, now)
            if at is None:
                continue
            if at <= now:
                candidates.append(agent)
            elif at < earliest:
                earliest = at
        if candidates:
            self._offer(call, select_agents(q, call, candidates, self._rng))
        elif earliest < math.inf:
            self._recheck_call(call, earliest)

    def _route_agent(self, agent: AgentRecord) -> None:
        """While the agent has capacity, give it the best waiting call of the
        queues it serves; schedule a wake-up if a delay holds one back."""
        now = self._now
        while agent.offerable(now):
            free = agent.free_channels()
            best: CallRecord | None = None
            best_rank: tuple[int, float, int] | None = None
            earliest = math.inf
            for qname, membership in agent.profile.queues.items():
                if best_rank is not None and membership.priority > best_rank[0]:
                    continue
                q = self._queues[qname]
                waiting = q.waiting
                for key in waiting:
                    call = waiting[key]
                    if call.channel not in free:
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

    def _offer(self, call: CallRecord, agents: list[AgentRecord]) -> None:
        q = self._queues[call.queue]
        del q.waiting[call.key]
        call.state = CallState.RINGING
        call.offers = [a.agent_id for a in agents]
        call.ring_round += 1
        timeout = q.config.ring_timeout
        self._schedule(self._now + timeout, _RING, call.call_id, call.ring_round)
        for agent in agents:
            agent.sessions[call.call_id] = Session(
                call_id=call.call_id,
                channel=call.channel,
                queue=call.queue,
                state=SessionState.RINGING,
            )
            q.rr_last = agent.order
            self._emit(
                Offer(
                    at=self._now,
                    call_id=call.call_id,
                    agent_id=agent.agent_id,
                    queue=call.queue,
                    channel=call.channel,
                    attributes=call.attributes,
                    waited=self._now - call.arrived,
                    ring_timeout=timeout,
                    rule="default",
                    last_agent=call.last_agent,
                )
            )
            self._refresh(agent)

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
        )

    def agent(self, agent_id: str) -> AgentView:
        """A view of an agent. Raises :class:`UnknownAgent`."""
        a = self._known_agent(agent_id)
        return AgentView(
            agent_id=a.agent_id,
            state=a.state(),
            paused_reason=a.paused,
            pending_logout=a.pending_logout,
            calls=tuple(a.sessions),
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
        q = self._queues.get(queue)
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
        live = {s: 0 for s in (CallState.WAITING, CallState.RINGING, CallState.CONNECTED)}
        for c in self._calls.values():
            live[c.state] += 1
        out = {"arrived": self._arrived}
        for state, n in live.items():
            out[state.value] = n
        for state, n in self._outcomes.items():
            out[state.value] = n
        return out

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
            "counts": self.counts(),
            "rng": self._rng.getstate(),
            "callers": list(self._callers.items()),
            "queues": {
                name: {
                    "waiting": [c.call_id for c in q.waiting.values()],
                    "members": sorted(q.members),
                    "free": sorted(q.free),
                    "rr_last": q.rr_last,
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
                        cid: (s.channel.value, s.queue, s.state.value, s.until)
                        for cid, s in sorted(a.sessions.items())
                    },
                    "idle_since": a.idle_since,
                    "last_call_end": a.last_call_end,
                    "calls_taken": a.calls_taken,
                    "talk_time": a.talk_time,
                    "misses": a.misses,
                    "wake_at": a.wake_at,
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
            if call.state is CallState.WAITING:
                _require(cid in queued_ids, f"waiting call {cid} is in no queue")
                _require(not call.offers, f"waiting call {cid} has offers")
            elif call.state is CallState.RINGING:
                _require(bool(call.offers), f"ringing call {cid} rings nobody")
                _require(("ring", cid) in pending, f"ringing call {cid} has no ring timeout")
                for aid in call.offers:
                    s = self._agents[aid].sessions.get(cid)
                    _require(
                        s is not None and s.state is SessionState.RINGING,
                        f"{aid} not ringing {cid}",
                    )
                    _require(
                        skill_eligible(self._agents[aid], call), f"{aid} offered ineligible {cid}"
                    )
            elif call.state is CallState.CONNECTED:
                assert call.agent is not None
                s = self._agents[call.agent].sessions.get(cid)
                _require(
                    s is not None and s.state is SessionState.CONNECTED, f"{cid} not connected"
                )
            else:
                raise AssertionError(f"live call {cid} in final state {call.state}")
        for aid, a in self._agents.items():
            used: dict[Channel, int] = {}
            for cid, s in a.sessions.items():
                used[s.channel] = used.get(s.channel, 0) + 1
                if s.state is SessionState.WRAP_UP:
                    _require(
                        ("wrap", aid, cid) in pending, f"{aid} wrap-up of {cid} has no deadline"
                    )
                else:
                    _require(cid in self._calls, f"{aid} holds finished call {cid}")
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
        # Work conservation.
        for q in self._queues.values():
            for call in q.waiting.values():
                for aid in q.free:
                    a = self._agents[aid]
                    at = eligible_at(a, call, q, now)
                    if at is None:
                        continue
                    _require(
                        at > now,
                        f"work conservation: waiting call {call.call_id} and free eligible agent {aid}",
                    )
                    call_ok = call.recheck_at is not None and call.recheck_at <= at
                    agent_ok = a.wake_at is not None and a.wake_at <= at
                    _require(
                        (call_ok and ("recheck", call.call_id) in pending)
                        or (agent_ok and ("wake", aid) in pending),
                        f"no deadline pending for {call.call_id}/{aid} becoming eligible at {at}",
                    )

    def _pending_timers(self) -> set[tuple[str, ...]]:
        names = {_RING: "ring", _WRAP: "wrap", _AGENT_WAKE: "wake", _CALL_RECHECK: "recheck"}
        out: set[tuple[str, ...]] = set()
        for when, _, kind, ref, token in self._timers:
            if when < self._now or not self._timer_live(when, kind, ref, token):
                continue
            if kind == _WRAP:
                out.add(("wrap", ref, token))
            else:
                out.add((names[kind], ref))
        return out


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


_HANDLERS: dict[type[Event], Any] = {
    CallArrived: Distributor._on_call_arrived,
    CallAbandoned: Distributor._on_call_abandoned,
    OfferAnswered: Distributor._on_offer_answered,
    OfferDeclined: Distributor._on_offer_declined,
    CallEnded: Distributor._on_call_ended,
    AgentLoggedIn: Distributor._on_agent_logged_in,
    AgentLoggedOut: Distributor._on_agent_logged_out,
    AgentPaused: Distributor._on_agent_paused,
    AgentResumed: Distributor._on_agent_resumed,
    AgentSkillsChanged: Distributor._on_agent_skills_changed,
}
