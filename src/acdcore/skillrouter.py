"""Skill-based routing on its own: who takes a piece of work, and what a freed
agent takes next.

:class:`SkillRouter` keeps agents (skills, capacity per channel, channel
exclusivity, pause state, and the per-agent figures the strategies read:
idle since, calls taken, talk time) and applies a
:class:`~acdcore.config.Strategy` with exactly the distributor's rules, on the
same primitives:

- ``python``: :class:`~acdcore._state.AgentRecord` records,
  :func:`~acdcore.router.eligible_at` for who may take the work and
  :func:`~acdcore.router.select_agents` for who gets it;
- ``native``: the C dispatch core (:class:`~acdcore._native.core.NativeCore`)
  holding the same records, with ``route_call`` choosing.

The random strategies draw from the injected ``random.Random`` through
:func:`~acdcore.router.draw` on both backends, so the same calls with the same
seed pick the same agents everywhere. Every tie is broken by agent order (the
order in which agents were added; an agent removed and added again goes
last), never by dict or set order.

The router is work-agnostic: a piece of work is any hashable value (a ticket
id, a call record); it holds one slot of one agent from :meth:`SkillRouter.assign`
to :meth:`SkillRouter.release`. Time is injected: every method that takes
``now`` refuses an instant earlier than the latest one it was given
(:class:`~acdcore.errors.TimeWentBackwards`). A refused call raises a typed
:class:`~acdcore.errors.AcdError` and changes nothing.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Hashable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from . import backend as _backend
from ._state import AgentRecord, CallRecord, QueueRecord, Session, SessionState
from .config import AgentProfile, QueueConfig, QueueMembership, Strategy
from .errors import (
    ConfigError,
    DuplicateItem,
    InvalidAgentState,
    InvalidValue,
    TimeWentBackwards,
    UnknownAgent,
    UnknownItem,
)
from .router import draw, eligible_at, select_agents
from .skills import Channel, SkillRequirement, check_instant, validate_skills
from .values import show

if TYPE_CHECKING:
    from ._native.core import NativeCore
    from .workqueue import Queue

__all__ = ["RouterAgent", "SkillRouter"]

T = TypeVar("T", bound=Hashable)

_QUEUE = "work"  # the one queue the router's records serve
_EMPTY: Mapping[str, Any] = MappingProxyType({})


@attrs.frozen
class RouterAgent:
    """A read-only view of one agent of a :class:`SkillRouter`.

    ``order``: its rank among the agents added (the last tie-break of every
    strategy). ``paused``: the pause reason, ``None`` when not paused.
    ``work``: what it holds, in assignment order. ``free_channels``: the
    channels on which one more piece of work fits now (whatever the pause).
    """

    agent_id: str
    order: int
    skills: Mapping[str, int]
    capacity: Mapping[Channel, int]
    exclusive: frozenset[Channel]
    weight: int
    position: int
    paused: str | None
    work: tuple[Hashable, ...]
    free_channels: tuple[Channel, ...]
    idle_since: float
    calls_taken: int
    talk_time: float

    @property
    def free(self) -> bool:
        """Not paused and with a free slot on some channel: it may be picked."""
        return self.paused is None and bool(self.free_channels)


@attrs.define(slots=True)
class _Held:
    agent_id: str
    seq: int
    since: float


def _requirement(value: object, what: str) -> SkillRequirement:
    if isinstance(value, SkillRequirement):
        return value
    if isinstance(value, Mapping):
        return SkillRequirement(value)  # InvalidValue naming the bad skill
    raise InvalidValue(f"{what} must be a SkillRequirement or a mapping, got {show(value)}")


def _channel(value: object, what: str) -> Channel:
    if not isinstance(value, Channel):
        raise InvalidValue(f"{what} must be a Channel, got {show(value)}")
    return value


def _agent_id(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValue(f"agent id must be a non-empty string, got {show(value)}")
    return value


class _RouterCore:
    """The state of a :class:`SkillRouter` and its reads: the agents (the
    distributor's own records), the clock, the backend, and the views and
    ``check()``. Kept apart from the decisions and changes so that each
    class stays readable; not used on its own."""

    def __init__(
        self,
        strategy: Strategy = Strategy.LONGEST_IDLE,
        *,
        rng: random.Random | None = None,
        backend: str | None = None,
    ) -> None:
        if not isinstance(strategy, Strategy):
            raise ConfigError(f"strategy must be a Strategy, got {show(strategy)}")
        if rng is not None and not isinstance(rng, random.Random):
            raise ConfigError(f"rng must be a random.Random, got {show(rng)}")
        self._backend = _backend.resolve(backend)
        self._strategy = strategy
        self._rng = rng if rng is not None else random.Random(0)
        self._q = QueueRecord(config=QueueConfig(_QUEUE, strategy=strategy))
        self._agents: dict[str, AgentRecord] = {}
        self._free: dict[str, None] = {}  # not paused, a slot free: in agent order of change
        self._work: dict[Hashable, _Held] = {}
        self._by_seq: dict[int, Hashable] = {}
        self._orders = 0  # the next agent order
        self._seq = 0  # the next assignment number (a session's identity)
        self._now = -math.inf
        self._nat: NativeCore | None = None
        if self._backend == "native":
            from ._native.core import NativeCore

            self._nat = NativeCore([_QUEUE], [strategy])

    # ------------------------------------------------------------ properties

    @property
    def backend(self) -> str:
        """``"python"`` or ``"native"``: which implementation picks."""
        return self._backend

    @property
    def strategy(self) -> Strategy:
        """The strategy :meth:`pick` applies."""
        return self._strategy

    @property
    def now(self) -> float:
        """The latest instant the router was given (``-inf`` before any)."""
        return self._now

    # --------------------------------------------------------------- helpers

    def _at(self, now: float) -> float:
        """Validate ``now`` (finite, not before the clock); does not move the clock."""
        check_instant(now, "now")
        if now < self._now:
            raise TimeWentBackwards(
                f"now {show(now)} is earlier than the router's clock {show(self._now)}"
            )
        return float(now) + 0.0

    def _known(self, agent_id: str) -> AgentRecord:
        try:
            return self._agents[agent_id]
        except (KeyError, TypeError):
            raise UnknownAgent(f"agent {show(agent_id)} is not in the router") from None

    def _refresh(self, agent: AgentRecord) -> None:
        """Recompute whether the agent is free (and tell the native core)."""
        free = agent.paused is None and agent.any_channel_free()
        if free:
            self._free[agent.agent_id] = None
        else:
            self._free.pop(agent.agent_id, None)
        if self._nat is not None:
            offerable = self._nat.sync(agent, agent.paused is None, False)
            assert offerable == free, f"native core disagrees on agent {agent.agent_id!r}"

    def _push_profile(self, agent: AgentRecord) -> None:
        if self._nat is not None:
            self._nat.profile(agent, agent.profile.queues.items())

    def _probe(self, requirement: SkillRequirement, channel: Channel, now: float) -> CallRecord:
        """A stand-in call for the eligibility and selection primitives: it
        waits in the router's one queue, has no preference, no region rule
        and a sequence number (-1) that no assignment uses."""
        return CallRecord(
            call_id="(pick)",
            seq=-1,
            queue=_QUEUE,
            channel=channel,
            attributes=_EMPTY,
            requirement=requirement,
            priority=0,
            emergency=False,
            preferred_agent=None,
            arrived=now,
            entered=now,
            key=(now, -1),
        )

    # ----------------------------------------------------------------- reads

    def holder(self, work: Hashable) -> str | None:
        """The id of the agent holding ``work``, ``None`` when nobody does. O(1)."""
        try:
            held = self._work.get(work)
        except TypeError:
            return None
        return None if held is None else held.agent_id

    def free_agents(self) -> list[str]:
        """The agents that may be picked now for some work (not paused, a
        free slot on some channel), in agent order. Cost: O(f log f)."""
        agents = self._agents
        return sorted(self._free, key=lambda aid: agents[aid].order)

    def agents(self) -> list[str]:
        """Every agent's id, in agent order. Cost: O(a log a)."""
        return sorted(self._agents, key=lambda aid: self._agents[aid].order)

    def __len__(self) -> int:
        return len(self._agents)

    def __contains__(self, agent_id: object) -> bool:
        try:
            return agent_id in self._agents
        except TypeError:
            return False

    def agent(self, agent_id: str) -> RouterAgent:
        """A frozen view of one agent. Raises
        :class:`~acdcore.errors.UnknownAgent`. Cost: O(s)."""
        a = self._known(agent_id)
        prof = a.profile
        m = prof.queues[_QUEUE]
        return RouterAgent(
            agent_id=a.agent_id,
            order=a.order,
            skills=prof.skills,
            capacity=prof.capacity,
            exclusive=prof.exclusive,
            weight=m.weight,
            position=m.position,
            paused=a.paused,
            work=tuple(self._by_seq[s] for s in sorted(a.sessions)),
            free_channels=a.free_channels(),
            idle_since=a.idle_since,
            calls_taken=a.calls_taken,
            talk_time=a.talk_time,
        )

    def __repr__(self) -> str:
        return (
            f"<SkillRouter {self._strategy.value} ({self._backend}): {len(self._agents)} agents, "
            f"{len(self._free)} free, {len(self._work)} held>"
        )

    def check(self) -> None:
        """Assert every invariant (``AssertionError`` naming the first that
        fails): each piece of work held by exactly one agent's session and
        back; capacity and exclusivity respected; the free set is exactly the
        unpaused agents with a free slot; agent orders distinct and below the
        counter; on the native backend, the C core's free list and offerable
        flags agree. A pure read. Cost: O(a x s)."""
        seen_orders: set[int] = set()
        sessions = 0
        for aid, a in self._agents.items():
            if a.agent_id != aid or not a.logged_in:
                raise AssertionError(f"agent {aid!r}: record is not its own or not logged in")
            if a.order in seen_orders or not 0 <= a.order < self._orders:
                raise AssertionError(f"agent {aid!r}: order {a.order} repeated or out of range")
            seen_orders.add(a.order)
            if dict(a.skills) != dict(a.profile.skills):
                raise AssertionError(f"agent {aid!r}: skills copy differs from its profile")
            per: dict[Channel, int] = {}
            for seq, s in a.sessions.items():
                work = self._by_seq.get(seq)
                held = self._work.get(work) if seq in self._by_seq else None
                if held is None or held.agent_id != aid or held.seq != seq:
                    raise AssertionError(f"agent {aid!r}: session {seq} is not its work's")
                if held.since > self._now or s.seq != seq:
                    raise AssertionError(f"agent {aid!r}: session {seq} is inconsistent")
                per[s.channel] = per.get(s.channel, 0) + 1
            for ch, n in per.items():
                if n > a.profile.capacity.get(ch, 0):
                    raise AssertionError(f"agent {aid!r}: {n} {ch.value} sessions over capacity")
                if ch in a.profile.exclusive and len(per) > 1:
                    raise AssertionError(f"agent {aid!r}: exclusive {ch.value} shares the agent")
            sessions += len(a.sessions)
            free = a.paused is None and a.any_channel_free()
            if free != (aid in self._free):
                raise AssertionError(f"agent {aid!r}: free is {free} but the free set disagrees")
            if a.idle_since > self._now or a.talk_time < 0:
                raise AssertionError(f"agent {aid!r}: idle_since or talk time out of range")
        if set(self._free) - set(self._agents):
            raise AssertionError("the free set names agents not in the router")
        if not (sessions == len(self._work) == len(self._by_seq)):
            raise AssertionError(
                f"{sessions} sessions, {len(self._work)} works, {len(self._by_seq)} numbers"
            )
        nat = self._nat
        if nat is not None:
            if nat.free_agents(_QUEUE) != set(self._free):
                raise AssertionError("native free list differs from the free set")
            for aid, a in self._agents.items():
                if bool(nat.lib.acd_agent_offerable(nat.core, a.slot)) != (aid in self._free):
                    raise AssertionError(f"agent {aid!r}: native offerable flag differs")
            if nat.waiting(_QUEUE) != 0:
                raise AssertionError("a probe was left waiting in the native core")


class SkillRouter(_RouterCore):
    """Agents, their skills and capacity, and a strategy that picks among them.

    ``strategy``: a :class:`~acdcore.config.Strategy` (default longest idle);
    its documented tie-breaks apply. ``rng``: the ``random.Random`` the random
    strategies draw from (default ``random.Random(0)``). ``backend``:
    ``"python"`` or ``"native"`` (default :data:`acdcore.backend.BACKEND`;
    ``"native"`` without the extension raises
    :class:`~acdcore.errors.ConfigError`).

    The strategies read, per agent: ``idle_since`` (set when it is added and
    whenever it releases a piece of work), ``calls_taken`` (plus one per
    :meth:`assign`), ``talk_time`` (plus the time from :meth:`assign` to
    :meth:`release`), its ``position`` (``LINEAR``), its ``weight``
    (``WEIGHTED_RANDOM``) and the sum of its levels over the required skills
    (``MOST_SKILLED``).

    Complexity (a agents, f of them free, k required skills, s pieces of work
    an agent holds): :meth:`pick` O(f x (k + s)) plus O(f log f) to sort for
    the random strategies and ring-all; agent changes O(s) (O(skills) more on
    the native backend, which pushes the profile to C); :meth:`assign` and
    :meth:`release` O(s); :meth:`next_for` O(m x (k + s)) for the m items it
    steps over; :meth:`agent` O(s); :meth:`check` O(a x s).
    """

    # ---------------------------------------------------------------- agents

    def add_agent(
        self,
        agent_id: str,
        *,
        skills: Mapping[str, int],
        capacity: Mapping[Channel, int] | None = None,
        exclusive: Iterable[Channel] = (Channel.VOICE,),
        weight: int = 1,
        position: int = 0,
        now: float,
    ) -> None:
        """Add an agent, free (unpaused), idle since ``now``, last in agent order.

        ``skills``: skill name to level (1..10). ``capacity``: pieces of work
        per channel (default one voice). ``exclusive``: channels whose work
        blocks every other channel (default voice), as in
        :class:`~acdcore.config.AgentProfile`. ``weight`` (>= 1): its weight
        for ``WEIGHTED_RANDOM``; ``position``: its place for ``LINEAR``.
        Raises :class:`~acdcore.errors.InvalidAgentState` when the id is
        already in the router, :class:`~acdcore.errors.InvalidValue` for a
        bad setting. Cost: O(skills + channels).
        """
        agent_id = _agent_id(agent_id)
        at = self._at(now)
        if agent_id in self._agents:
            raise InvalidAgentState(f"agent {agent_id!r} is already in the router")
        if not isinstance(skills, Mapping):
            raise InvalidValue(f"agent {agent_id!r}: skills must be a mapping, got {show(skills)}")
        validate_skills(skills, f"agent {agent_id!r}")
        try:
            membership = QueueMembership(weight=weight, position=position)
            profile = AgentProfile(
                agent_id,
                skills=skills,
                queues={_QUEUE: membership},
                capacity=capacity,
                exclusive=exclusive,
            )
        except ConfigError as exc:
            raise InvalidValue(f"agent {agent_id!r}: {exc}") from None
        record = AgentRecord(agent_id=agent_id, order=self._orders, profile=profile)
        record.set_profile(profile)
        record.logged_in = True
        record.not_before = -math.inf  # the router has no no-answer delay
        record.idle_since = at
        self._push_profile(record)
        self._orders += 1
        self._agents[agent_id] = record
        self._now = at
        self._refresh(record)

    def remove_agent(self, agent_id: str) -> None:
        """Take an agent out of the router. Raises
        :class:`~acdcore.errors.UnknownAgent` when it is not there and
        :class:`~acdcore.errors.InvalidAgentState` while it holds work
        (release it first). Cost: O(1) (O(channels) on native)."""
        agent = self._known(agent_id)
        if agent.sessions:
            held = [self._by_seq[s] for s in agent.sessions]
            raise InvalidAgentState(
                f"agent {agent_id!r} still holds {show(held)}; release it before removing"
            )
        if self._nat is not None:
            # The core keeps the agent's number; with no membership it is in
            # no free list and can never be picked.
            ghost = AgentRecord(
                agent_id=agent_id, order=agent.order, profile=AgentProfile(agent_id)
            )
            self._nat.profile(ghost, ())
        del self._agents[agent_id]
        self._free.pop(agent_id, None)

    def set_skills(self, agent_id: str, skills: Mapping[str, int]) -> None:
        """Replace an agent's skills (work it holds is kept). Raises
        :class:`~acdcore.errors.UnknownAgent` or
        :class:`~acdcore.errors.InvalidValue`. Cost: O(skills)."""
        agent = self._known(agent_id)
        if not isinstance(skills, Mapping):
            raise InvalidValue(f"agent {agent_id!r}: skills must be a mapping, got {show(skills)}")
        validate_skills(skills, f"agent {agent_id!r}")
        agent.set_profile(agent.profile.with_skills(skills))
        self._push_profile(agent)
        self._refresh(agent)

    def pause(self, agent_id: str, *, reason: str = "paused") -> None:
        """Stop picking the agent (it keeps the work it holds; its idle time
        runs on, as in the distributor). Raises
        :class:`~acdcore.errors.UnknownAgent`, or
        :class:`~acdcore.errors.InvalidAgentState` when it is already paused,
        or :class:`~acdcore.errors.InvalidValue` for an empty reason."""
        agent = self._known(agent_id)
        if not isinstance(reason, str) or not reason:
            raise InvalidValue(f"agent {agent_id!r}: pause reason must be a non-empty string")
        if agent.paused is not None:
            raise InvalidAgentState(f"agent {agent_id!r} is already paused ({agent.paused})")
        agent.paused = reason
        self._refresh(agent)

    def resume(self, agent_id: str, *, now: float) -> None:
        """Let the agent be picked again (``idle_since`` is unchanged; ``now``
        moves the router's clock). Raises
        :class:`~acdcore.errors.UnknownAgent`, or
        :class:`~acdcore.errors.InvalidAgentState` when it is not paused."""
        agent = self._known(agent_id)
        at = self._at(now)
        if agent.paused is None:
            raise InvalidAgentState(f"agent {agent_id!r} is not paused")
        agent.paused = None
        self._now = at
        self._refresh(agent)

    # -------------------------------------------------------------- decisions

    def pick(
        self,
        requirement: SkillRequirement | Mapping[str, int] | None = None,
        *,
        channel: Channel = Channel.VOICE,
        now: float,
    ) -> list[str]:
        """Who should take a piece of work that needs ``requirement`` on
        ``channel``: one agent id, every free eligible agent (in agent order)
        for ``RING_ALL``, or ``[]`` when none is free and eligible.

        Eligible: not paused, a free slot on ``channel`` (exclusivity
        respected), every required skill at its minimum. Among the eligible
        the strategy picks with the tie-breaks documented on
        :class:`~acdcore.config.Strategy`.

        Nothing is assigned (call :meth:`assign`). What changes: the clock
        moves to ``now``; when someone is picked, the round-robin memory
        becomes the order of the last agent returned (whatever the strategy,
        so switching strategies is not needed to keep it); ``RANDOM`` draws
        one ``randrange(c)`` and ``WEIGHTED_RANDOM`` one
        ``randrange(sum of weights)`` from the RNG when c >= 1 agents are
        eligible; nothing is drawn when none is. Raises
        :class:`~acdcore.errors.InvalidValue` for a bad requirement, channel
        or ``now``, :class:`~acdcore.errors.TimeWentBackwards`.
        """
        req = _requirement(requirement if requirement is not None else {}, "requirement")
        ch = _channel(channel, "channel")
        at = self._at(now)
        call = self._probe(req, ch, at)
        q = self._q
        chosen: list[AgentRecord]
        nat = self._nat
        if nat is not None:
            nat.put(call)
            try:
                found, weights, _ = nat.route_call(call, at, q.rr_last)
            finally:
                nat.remove(call)
            chosen = draw(self._strategy, found, weights, self._rng) if found else []
        else:
            agents = self._agents
            candidates = [
                agents[aid] for aid in self._free if eligible_at(agents[aid], call, q, at) == at
            ]
            chosen = select_agents(q, call, candidates, self._rng) if candidates else []
        self._now = at
        if chosen:
            q.rr_last = chosen[-1].order
        return [a.agent_id for a in chosen]

    def next_for(
        self,
        agent_id: str,
        queue: Queue[T],
        requirement_of: Callable[[T], SkillRequirement | Mapping[str, int]],
        *,
        channel_of: Callable[[T], Channel] | None = None,
        now: float,
    ) -> T | None:
        """The first item in ``queue``'s order that the agent may take now,
        or ``None`` (also when the agent is paused or full).

        ``requirement_of(item)`` gives what the item needs (a
        :class:`~acdcore.skills.SkillRequirement` or a mapping);
        ``channel_of(item)`` its channel (default: every item is voice). The
        rule is :meth:`pick`'s, from the agent's side; the queue's order
        decides among items. A pure read: neither the queue nor the router
        changes (take the item out and :meth:`assign` it yourself). ``now``
        must not be earlier than the clock, which does not move. Raises
        :class:`~acdcore.errors.UnknownAgent`, or
        :class:`~acdcore.errors.InvalidValue` when a callback returns
        something else than a requirement or a channel. Cost: O(m x (k + s))
        for the m items stepped over (each distinct requirement and channel
        is tested once).
        """
        agent = self._known(agent_id)
        at = self._at(now)
        if agent.paused is not None or not agent.any_channel_free():
            return None
        tested: dict[tuple[SkillRequirement, Channel], bool] = {}
        for item in queue:
            req = requirement_of(item)
            if not isinstance(req, SkillRequirement):  # the item is named only in an error
                req = _requirement(req, f"requirement_of({show(item)})")
            ch = channel_of(item) if channel_of is not None else Channel.VOICE
            if not isinstance(ch, Channel):
                ch = _channel(ch, f"channel_of({show(item)})")
            ok = tested.get((req, ch))
            if ok is None:
                ok = tested[req, ch] = (
                    eligible_at(agent, self._probe(req, ch, at), self._q, at) == at
                )
            if ok:
                return item
        return None

    # ------------------------------------------------------------------ work

    def assign(
        self, agent_id: str, work: Hashable, *, channel: Channel = Channel.VOICE, now: float
    ) -> None:
        """The agent takes ``work``: it holds one slot on ``channel`` until
        :meth:`release`, and its ``calls_taken`` grows by one. Skills are not
        checked (that is :meth:`pick`'s question); a slot is.

        Raises :class:`~acdcore.errors.UnknownAgent`;
        :class:`~acdcore.errors.DuplicateItem` when ``work`` is already held
        (by anyone); :class:`~acdcore.errors.InvalidAgentState` when the agent
        is paused or has no free slot on ``channel``;
        :class:`~acdcore.errors.InvalidValue` for unhashable work, a bad
        channel or ``now``. Cost: O(s).
        """
        agent = self._known(agent_id)
        try:
            held = self._work.get(work)
        except TypeError:
            raise InvalidValue(f"work must be hashable, got {show(work)}") from None
        ch = _channel(channel, "channel")
        at = self._at(now)
        if held is not None:
            raise DuplicateItem(f"work {show(work)} is already held by agent {held.agent_id!r}")
        if agent.paused is not None:
            raise InvalidAgentState(f"agent {agent_id!r} is paused ({agent.paused})")
        if not agent.channel_free(ch):
            busy = [self._by_seq[s] for s in agent.sessions]
            raise InvalidAgentState(
                f"agent {agent_id!r} has no free {ch.value} slot (holds {show(busy)}, capacity "
                f"{agent.profile.capacity.get(ch, 0)})"
            )
        seq = self._seq
        self._seq += 1
        agent.sessions[seq] = Session(
            call_id=show(work), channel=ch, queue=_QUEUE, state=SessionState.CONNECTED, seq=seq
        )
        agent.calls_taken += 1
        self._work[work] = _Held(agent_id, seq, at)
        self._by_seq[seq] = work
        self._now = at
        self._refresh(agent)

    def release(self, agent_id: str, work: Hashable, *, now: float) -> None:
        """The agent is done with ``work``: its slot is free, its talk time
        grows by the time since :meth:`assign`, and it is idle since ``now``
        (as when the distributor ends a call without wrap-up).

        Raises :class:`~acdcore.errors.UnknownAgent`;
        :class:`~acdcore.errors.UnknownItem` when the agent does not hold
        ``work``; :class:`~acdcore.errors.InvalidValue` or
        :class:`~acdcore.errors.TimeWentBackwards` for ``now``. Cost: O(s).
        """
        agent = self._known(agent_id)
        try:
            held = self._work.get(work)
        except TypeError:
            held = None
        if held is None or held.agent_id != agent_id:
            who = "" if held is None else f" (agent {held.agent_id!r} holds it)"
            raise UnknownItem(f"agent {agent_id!r} does not hold work {show(work)}{who}")
        at = self._at(now)
        del agent.sessions[held.seq]
        del self._work[work]
        del self._by_seq[held.seq]
        agent.talk_time += at - held.since
        agent.last_call_end = at
        agent.idle_since = at
        self._now = at
        self._refresh(agent)
