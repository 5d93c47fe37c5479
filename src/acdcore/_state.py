"""The distributor's mutable records (internal).

These are the "stateful few": one record per live call, per agent ever seen
and per queue. They hold plain scalars and small containers, shaped so that a
native backend can own the same state in arrays (integer sequence numbers,
agent order numbers, float instants).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from .config import AgentProfile, QueueConfig
from .policies import SortKey
from .skills import Channel, SkillRequirement
from .workqueue import Queue

__all__ = [
    "FINAL",
    "LIVE",
    "AgentRecord",
    "AgentState",
    "CallExtras",
    "CallRecord",
    "CallState",
    "QueueRecord",
    "Session",
    "SessionState",
    "Stage",
]


class CallState(enum.Enum):
    """Where a call is. The first four are live; the rest are final outcomes.

    A callback (a caller who accepted one) is ``WAITING`` in its place, then
    ``RINGING`` while the customer is dialled with an agent reserved, and
    ``CALLBACK_PENDING`` between an unanswered attempt and the next.
    """

    WAITING = "waiting"
    RINGING = "ringing"
    CONNECTED = "connected"
    CALLBACK_PENDING = "callback-pending"
    COMPLETED = "completed"
    ABANDONED = "abandoned"
    REJECTED = "rejected"
    OVERFLOWED = "overflowed"
    SELF_SERVICE = "self-service"
    CALLBACK_FAILED = "callback-failed"
    CALLBACK_CANCELLED = "callback-cancelled"


LIVE = (CallState.WAITING, CallState.RINGING, CallState.CONNECTED, CallState.CALLBACK_PENDING)
"""The live call states, in the order counts list them."""
FINAL = (
    CallState.COMPLETED,
    CallState.ABANDONED,
    CallState.REJECTED,
    CallState.OVERFLOWED,
    CallState.SELF_SERVICE,
    CallState.CALLBACK_FAILED,
    CallState.CALLBACK_CANCELLED,
)
"""The final outcomes: every call that enters ends in exactly one of them."""


class AgentState(enum.Enum):
    """An agent's summary state, derived from its login, pause and sessions.

    Precedence when an agent has several sessions: ringing, then busy, then
    wrap-up; an agent with no session is paused or available.
    """

    LOGGED_OUT = "logged-out"
    AVAILABLE = "available"
    RINGING = "ringing"
    BUSY = "busy"
    WRAP_UP = "wrap-up"
    PAUSED = "paused"


class SessionState(enum.Enum):
    """One interaction occupying one of an agent's channel slots."""

    RINGING = "ringing"
    CONNECTED = "connected"
    WRAP_UP = "wrap-up"


@attrs.define(slots=True)
class Session:
    """A slot of an agent's capacity held by one call."""

    call_id: str
    channel: Channel
    queue: str
    state: SessionState
    until: float | None = None  # end of wrap-up
    seq: int = -1  # the call's arrival sequence number: its identity (ids may be reused)


@attrs.frozen
class Stage:
    """One resolved relaxation step of a call: what it needs while active."""

    requirement: SkillRequirement
    extra_queues: tuple[str, ...]
    regional: bool
    expires_at: float | None  # absolute instant, None: never
    skip_if_empty: bool = False


@attrs.define(slots=True, eq=False)
class CallExtras:
    """The fields of a call that only some features use (plans' steps,
    callbacks, announcements, delays, transfers), kept apart so that a plain
    waiting call does not pay for them: a :class:`CallRecord` allocates its
    extras the first time one of them is set to something other than its
    default. Read and written through the record's properties of the same
    names."""

    recheck_at: float | None = None  # when a delay that holds back a free agent ends
    region: str | None = None  # the caller's region (plans' regional steps)
    regional: bool = False  # the current step serves the caller's region only
    extra_queues: tuple[str, ...] = ()  # queues added by the current step
    preferred_until: float = 0.0  # end of the preferred agent's reservation
    transfers: int = 0  # transfers of this call
    callback: bool = False  # the caller accepted a callback and left the line
    number: str | None = None  # where to call back
    attempts: int = 0  # callback attempts made
    callback_offered: bool = False  # a callback was offered
    announced: int = 0  # announcements made
    last_position: int = 0  # position at the last announcement
    last_wait: float = -1.0  # rounded estimate at the last announcement
    next_announce: float | None = None  # the pending announcement deadline
    stage_timer: int = -1  # scheduling number of the armed relaxation deadline
    max_wait_timer: int = -1  # scheduling number of the armed max-wait deadline
    announce_timer: int = -1  # scheduling number of the armed announcement deadline
    recheck_timer: int = -1  # scheduling number of the armed recheck deadline


_NO_OFFERS: list[str] = []
"""The offers of every call that rings nobody: one shared empty list, never
mutated (an offer assigns a fresh list; ``check()`` verifies it stays empty)."""


@attrs.define(slots=True, eq=False)
class CallRecord:
    """A live call. ``seq`` is its arrival sequence number (unique, increasing).

    Memory: the fields every call uses live in the record's slots; the rest
    (:class:`CallExtras`) in a second object made only when a call first
    needs one of them, read and written through properties. The snapshot
    form of a call lists both, in one object (``snapshots.py``).
    """

    call_id: str
    seq: int
    queue: str
    channel: Channel
    attributes: Mapping[str, Any]
    requirement: SkillRequirement
    priority: int
    emergency: bool
    preferred_agent: str | None
    arrived: float
    entered: float  # when it entered its current queue
    key: SortKey
    state: CallState = CallState.WAITING
    offers: list[str] = (
        _NO_OFFERS  # agents ringing, in offer order (shared empty list: never mutate it)
    )
    ring_round: int = 0
    agent: str | None = None
    answered_at: float | None = None
    last_agent: str | None = None
    rule: str = "default"
    stages: tuple[Stage, ...] = ()
    stage: int = 0
    stage_gen: int = 0  # bumped whenever stages are (re)assigned; tokens stale timers
    slot: int = -1  # native backend: the call's slot while it waits
    offered_at: float = 0.0  # when it last left its queue for an agent
    _x: CallExtras | None = attrs.field(default=None, alias="_x")
    # The scheduling numbers of the call's armed deadlines (-1: none armed,
    # properties below). A deadline fires only while its record still holds
    # its number, and a number is never reused, so a deadline once disarmed
    # stays dead.

    @property
    def recheck_at(self) -> float | None:
        x = self._x
        return None if x is None else x.recheck_at

    @recheck_at.setter
    def recheck_at(self, value: float | None) -> None:
        x = self._x
        if x is None:
            if value is None:
                return
            x = self._x = CallExtras()
        x.recheck_at = value

    @property
    def region(self) -> str | None:
        x = self._x
        return None if x is None else x.region

    @region.setter
    def region(self, value: str | None) -> None:
        x = self._x
        if x is None:
            if value is None:
                return
            x = self._x = CallExtras()
        x.region = value

    @property
    def regional(self) -> bool:
        x = self._x
        return False if x is None else x.regional

    @regional.setter
    def regional(self, value: bool) -> None:
        x = self._x
        if x is None:
            if value is False:
                return
            x = self._x = CallExtras()
        x.regional = value

    @property
    def extra_queues(self) -> tuple[str, ...]:
        x = self._x
        return () if x is None else x.extra_queues

    @extra_queues.setter
    def extra_queues(self, value: tuple[str, ...]) -> None:
        x = self._x
        if x is None:
            if value == ():
                return
            x = self._x = CallExtras()
        x.extra_queues = value

    @property
    def preferred_until(self) -> float:
        x = self._x
        return 0.0 if x is None else x.preferred_until

    @preferred_until.setter
    def preferred_until(self, value: float) -> None:
        x = self._x
        if x is None:
            if value == 0.0:
                return
            x = self._x = CallExtras()
        x.preferred_until = value

    @property
    def transfers(self) -> int:
        x = self._x
        return 0 if x is None else x.transfers

    @transfers.setter
    def transfers(self, value: int) -> None:
        x = self._x
        if x is None:
            if value == 0:
                return
            x = self._x = CallExtras()
        x.transfers = value

    @property
    def callback(self) -> bool:
        x = self._x
        return False if x is None else x.callback

    @callback.setter
    def callback(self, value: bool) -> None:
        x = self._x
        if x is None:
            if value is False:
                return
            x = self._x = CallExtras()
        x.callback = value

    @property
    def number(self) -> str | None:
        x = self._x
        return None if x is None else x.number

    @number.setter
    def number(self, value: str | None) -> None:
        x = self._x
        if x is None:
            if value is None:
                return
            x = self._x = CallExtras()
        x.number = value

    @property
    def attempts(self) -> int:
        x = self._x
        return 0 if x is None else x.attempts

    @attempts.setter
    def attempts(self, value: int) -> None:
        x = self._x
        if x is None:
            if value == 0:
                return
            x = self._x = CallExtras()
        x.attempts = value

    @property
    def callback_offered(self) -> bool:
        x = self._x
        return False if x is None else x.callback_offered

    @callback_offered.setter
    def callback_offered(self, value: bool) -> None:
        x = self._x
        if x is None:
            if value is False:
                return
            x = self._x = CallExtras()
        x.callback_offered = value

    @property
    def announced(self) -> int:
        x = self._x
        return 0 if x is None else x.announced

    @announced.setter
    def announced(self, value: int) -> None:
        x = self._x
        if x is None:
            if value == 0:
                return
            x = self._x = CallExtras()
        x.announced = value

    @property
    def last_position(self) -> int:
        x = self._x
        return 0 if x is None else x.last_position

    @last_position.setter
    def last_position(self, value: int) -> None:
        x = self._x
        if x is None:
            if value == 0:
                return
            x = self._x = CallExtras()
        x.last_position = value

    @property
    def last_wait(self) -> float:
        x = self._x
        return -1.0 if x is None else x.last_wait

    @last_wait.setter
    def last_wait(self, value: float) -> None:
        x = self._x
        if x is None:
            if value == -1.0:
                return
            x = self._x = CallExtras()
        x.last_wait = value

    @property
    def next_announce(self) -> float | None:
        x = self._x
        return None if x is None else x.next_announce

    @next_announce.setter
    def next_announce(self, value: float | None) -> None:
        x = self._x
        if x is None:
            if value is None:
                return
            x = self._x = CallExtras()
        x.next_announce = value

    @property
    def stage_timer(self) -> int:
        x = self._x
        return -1 if x is None else x.stage_timer

    @stage_timer.setter
    def stage_timer(self, value: int) -> None:
        x = self._x
        if x is None:
            if value == -1:
                return
            x = self._x = CallExtras()
        x.stage_timer = value

    @property
    def max_wait_timer(self) -> int:
        x = self._x
        return -1 if x is None else x.max_wait_timer

    @max_wait_timer.setter
    def max_wait_timer(self, value: int) -> None:
        x = self._x
        if x is None:
            if value == -1:
                return
            x = self._x = CallExtras()
        x.max_wait_timer = value

    @property
    def announce_timer(self) -> int:
        x = self._x
        return -1 if x is None else x.announce_timer

    @announce_timer.setter
    def announce_timer(self, value: int) -> None:
        x = self._x
        if x is None:
            if value == -1:
                return
            x = self._x = CallExtras()
        x.announce_timer = value

    @property
    def recheck_timer(self) -> int:
        x = self._x
        return -1 if x is None else x.recheck_timer

    @recheck_timer.setter
    def recheck_timer(self, value: int) -> None:
        x = self._x
        if x is None:
            if value == -1:
                return
            x = self._x = CallExtras()
        x.recheck_timer = value


@attrs.define(slots=True, eq=False)
class AgentRecord:
    """An agent ever seen. ``order`` is its first-login rank, the final
    tie-break of every strategy."""

    agent_id: str
    order: int
    profile: AgentProfile
    logged_in: bool = False
    paused: str | None = None
    pending_logout: bool = False
    not_before: float = 0.0
    sessions: dict[int, Session] = attrs.Factory(dict)  # by the call's sequence number
    idle_since: float = 0.0
    last_call_end: float | None = None
    calls_taken: int = 0
    talk_time: float = 0.0
    misses: int = 0
    wake_at: float | None = None
    wake_timer: int = -1  # scheduling number of the armed wake-up (-1: none)
    answers: list[bool] = attrs.Factory(list)  # recent offer outcomes, for the load guard
    skills: dict[str, int] = attrs.Factory(dict)  # plain copy of profile.skills, for speed
    slot: int = -1  # native backend: the agent's index
    staffed: bool = False  # counted in its queues' staffing (logged in, not paused or leaving)

    def set_profile(self, profile: AgentProfile) -> None:
        """Replace the profile (and the plain copy of its skills)."""
        self.profile = profile
        self.skills = dict(profile.skills)

    def serving(self, seq: int) -> bool:
        """True when one of the agent's sessions holds the call with arrival
        sequence number ``seq`` (e.g. it wraps up a call it transferred). O(1)."""
        return seq in self.sessions

    def free_channels(self) -> tuple[Channel, ...]:
        """The channels on which one more session fits now. Cost: O(c x s)."""
        return tuple(ch for ch in self.profile.capacity if self.channel_free(ch))

    def state(self) -> AgentState:
        """The summary state (see :class:`AgentState` for precedence)."""
        if not self.logged_in:
            return AgentState.LOGGED_OUT
        has = {s.state for s in self.sessions.values()}
        if SessionState.RINGING in has:
            return AgentState.RINGING
        if SessionState.CONNECTED in has:
            return AgentState.BUSY
        if SessionState.WRAP_UP in has:
            return AgentState.WRAP_UP
        if self.paused is not None:
            return AgentState.PAUSED
        return AgentState.AVAILABLE

    def channel_free(self, channel: Channel) -> bool:
        """True when one more session on ``channel`` fits the agent's capacity.

        A session on an exclusive channel blocks every other channel, and an
        exclusive channel is only free when no other channel is in use.
        Cost: O(sessions).
        """
        cap = self.profile.capacity.get(channel, 0)
        if cap <= 0:
            return False
        exclusive = self.profile.exclusive
        used = 0
        for s in self.sessions.values():
            if s.channel is channel:
                used += 1
            elif s.channel in exclusive or channel in exclusive:
                return False
        return used < cap

    def any_channel_free(self) -> bool:
        """True when some channel of the agent has a free slot."""
        return any(self.channel_free(ch) for ch in self.profile.capacity)

    def offerable(self, now: float) -> bool:
        """Logged in, not paused, not logging out, past its no-answer delay and
        with a free slot: it may be offered a call now."""
        return (
            self.logged_in
            and self.paused is None
            and not self.pending_logout
            and self.not_before <= now
            and self.any_channel_free()
        )


def _call_key(call: CallRecord) -> SortKey:
    return call.key


def _waiting_for(queue: QueueRecord) -> Queue[CallRecord]:
    """A queue's waiting calls, in its policy's order, under their own keys."""
    return Queue(queue.config.policy, backend="python", key_of=_call_key)


@attrs.define(slots=True, eq=False)
class QueueRecord:
    """A queue's live state.

    ``waiting`` holds the waiting calls in policy order: a
    :class:`~acdcore.workqueue.Queue` of the call records themselves, filed
    under each record's ``key`` (insert, remove and position O(log n), head
    O(1)). It is the python implementation on both backends: the native core
    keeps its own order of the same calls for matching, and this one answers
    positions, views and estimates. ``members`` are the logged-in agents who
    serve it; ``free`` those of them who are offerable now. Both are
    insertion-ordered dicts used as sets; every choice among them is made by
    an explicit key, never by their order.
    """

    config: QueueConfig
    waiting: Queue[CallRecord] = attrs.Factory(_waiting_for, takes_self=True)
    members: dict[str, None] = attrs.Factory(dict)
    free: dict[str, None] = attrs.Factory(dict)
    rr_last: int | None = None
    surge: bool = False
    staffed: int = 0  # members logged in, not paused and not logging out
    sampled: tuple[int, int] = (-1, -1)  # (waiting, staffed) last told to the estimators
