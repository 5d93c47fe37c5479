"""Events: what happened, told to the distributor. Immutable, past tense.

Every event carries ``now``, the instant it happened, in seconds on whatever
clock the adapter uses (the distributor never reads a clock). Events are plain
data: a list of them is a complete journal that replays to the same actions.

An event is checked when the distributor handles it, not when it is built:
:meth:`acdcore.Distributor.handle` refuses a bad one with an
:class:`~acdcore.errors.AcdError` subclass that names the id and its state,
and changes nothing. Only the fields with a converter (``attributes``,
``skills``, ``requirement``) refuse a wrongly shaped value at once, with
:class:`~acdcore.errors.InvalidValue`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .config import AgentProfile
from .skills import Channel, SkillRequirement, freeze_mapping

__all__ = [
    "AgentLoggedIn",
    "AgentLoggedOut",
    "AgentPaused",
    "AgentResumed",
    "AgentSkillsChanged",
    "CallAbandoned",
    "CallArrived",
    "CallEnded",
    "CallTransferred",
    "CallbackCancelled",
    "CallbackRequested",
    "CallbackUnanswered",
    "Event",
    "OfferAnswered",
    "OfferDeclined",
]


def _attributes(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return freeze_mapping(value, "event attributes")


def _skills(value: Mapping[str, int]) -> Mapping[str, int]:
    return freeze_mapping(value, "AgentSkillsChanged.skills")


def _requirement(value: SkillRequirement | Mapping[str, int] | None) -> SkillRequirement | None:
    if value is None or isinstance(value, SkillRequirement):
        return value
    return SkillRequirement(value)


@attrs.frozen(kw_only=True)
class Event:
    """Base of all events: ``now`` is when it happened."""

    now: float


@attrs.frozen(kw_only=True)
class CallArrived(Event):
    """A call entered the ACD and asks for ``queue``.

    ``requirement`` overrides the queue's default skill requirement.
    ``priority`` is the call's class (higher is more important; how it is used
    depends on the queue's policy). ``emergency`` marks a call for the
    emergency class. ``preferred_agent`` reserves the call for that agent for
    the queue's ``preferred_agent_wait``. ``attributes`` is free-form data
    (caller number under ``"caller"``, tier, customer value, urgency, intent,
    language, region) passed through to offers.
    """

    call_id: str
    queue: str
    channel: Channel = Channel.VOICE
    attributes: Mapping[str, Any] = attrs.field(factory=dict, converter=_attributes, hash=False)
    requirement: SkillRequirement | None = attrs.field(default=None, converter=_requirement)
    priority: int = 0
    emergency: bool = False
    preferred_agent: str | None = None


@attrs.frozen(kw_only=True)
class CallAbandoned(Event):
    """The caller hung up before being connected (waiting or while ringing)."""

    call_id: str


@attrs.frozen(kw_only=True)
class OfferAnswered(Event):
    """``agent_id`` answered the offer of ``call_id``; they are now connected."""

    call_id: str
    agent_id: str


@attrs.frozen(kw_only=True)
class OfferDeclined(Event):
    """``agent_id`` did not take the offer of ``call_id`` (``reason``: declined,
    busy, unreachable...). The call goes back to its place in the queue."""

    call_id: str
    agent_id: str
    reason: str = "declined"


@attrs.frozen(kw_only=True)
class CallEnded(Event):
    """A connected call finished (either side hung up); wrap-up starts."""

    call_id: str


@attrs.frozen(kw_only=True)
class AgentLoggedIn(Event):
    """An agent logged in with ``profile`` (which replaces any earlier one)."""

    profile: AgentProfile


@attrs.frozen(kw_only=True)
class AgentLoggedOut(Event):
    """An agent logged out. While connected, it takes effect when the call ends."""

    agent_id: str


@attrs.frozen(kw_only=True)
class AgentPaused(Event):
    """An agent paused with ``reason`` (break, lunch, training...). A paused
    agent keeps its current calls and gets no new offers."""

    agent_id: str
    reason: str = "paused"


@attrs.frozen(kw_only=True)
class AgentResumed(Event):
    """A paused agent is available again."""

    agent_id: str


@attrs.frozen(kw_only=True)
class AgentSkillsChanged(Event):
    """An agent's skills were changed; this takes effect at once."""

    agent_id: str
    skills: Mapping[str, int] = attrs.field(converter=_skills, hash=False)


@attrs.frozen(kw_only=True)
class CallTransferred(Event):
    """The agent connected to ``call_id`` transferred it to ``queue``.

    The agent's side ends as with :class:`CallEnded` (talk time, wrap-up); the
    call waits in ``queue`` with ``requirement`` (``None``: the queue's
    default). With ``keep_arrival`` (the default) it keeps its original
    arrival time, so it keeps its place by arrival in the new queue's order.
    """

    call_id: str
    queue: str
    requirement: SkillRequirement | None = attrs.field(default=None, converter=_requirement)
    keep_arrival: bool = True


@attrs.frozen(kw_only=True)
class CallbackRequested(Event):
    """The waiting caller of ``call_id`` accepted a callback and hung up: the
    call keeps its place and priority, and is dialled back at ``number``
    (``None``: the ``"caller"`` attribute) when its turn comes. Only for a
    waiting call in a queue with a callback policy."""

    call_id: str
    number: str | None = None


@attrs.frozen(kw_only=True)
class CallbackCancelled(Event):
    """The customer of callback ``call_id`` no longer wants it (they called
    again, or cancelled on the web): the call ends with the outcome
    ``callback-cancelled``. If an agent was reserved for it, the reservation
    is cancelled (no miss)."""

    call_id: str


@attrs.frozen(kw_only=True)
class CallbackUnanswered(Event):
    """The customer did not answer the callback attempt for ``call_id``."""

    call_id: str
