"""Actions: what the distributor asks the adapter to do. Immutable, imperative.

The core returns actions and never performs them. Each carries ``at``, the
instant at which the distributor decided it (an event's ``now`` or a
deadline's instant when produced by ``advance``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .skills import Channel, freeze_mapping

__all__ = [
    "Action",
    "Alert",
    "Announce",
    "CallbackFailed",
    "CancelOffer",
    "Offer",
    "OfferCallback",
    "Overflow",
    "PauseAgent",
    "PlaceCallback",
    "PreferredAgentBusy",
    "Queued",
    "Reject",
    "SelfService",
    "SurgeMode",
]


def _attributes(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return freeze_mapping(value)


@attrs.frozen(kw_only=True)
class Action:
    """Base of all actions: ``at`` is when the distributor decided it."""

    at: float


@attrs.frozen(kw_only=True)
class Offer(Action):
    """Ring ``agent_id`` with ``call_id``; it times out at ``at + ring_timeout``.

    Carries what an agent desktop needs for a screen pop: the call's
    attributes, how long it has waited, the queue and rule that routed it, and
    the agent the caller last spoke to, if known (``None`` otherwise).
    """

    call_id: str
    agent_id: str
    queue: str
    channel: Channel
    attributes: Mapping[str, Any] = attrs.field(converter=_attributes, hash=False)
    waited: float
    ring_timeout: float
    rule: str
    last_agent: str | None = None


@attrs.frozen(kw_only=True)
class CancelOffer(Action):
    """Stop ringing ``agent_id`` for ``call_id``.

    ``reason`` is one of ``"ring-timeout"``, ``"answered-elsewhere"``,
    ``"caller-abandoned"``, ``"agent-logged-out"``, ``"skills-changed"`` (the
    agent no longer meets the call's requirement).
    """

    call_id: str
    agent_id: str
    reason: str


@attrs.frozen(kw_only=True)
class Queued(Action):
    """``call_id`` waits in ``queue`` at 1-based ``position``: play hold music.

    ``reason`` is ``"arrived"`` for a new call, otherwise why it went back to
    its place (``"declined"``, ``"ring-timeout"``, ``"agent-logged-out"``,
    ``"skills-changed"``, ``"overflow"``, ``"transferred"``). ``rule`` names
    the plan rule that routed it.
    """

    call_id: str
    queue: str
    position: int
    reason: str
    rule: str = "default"


@attrs.frozen(kw_only=True)
class Reject(Action):
    """Refuse ``call_id``: ``reason`` is ``"queue-full"``, or the reason of a
    plan exit (``"closed"``, ``"join-empty"``, ``"max-wait"``, ...)."""

    call_id: str
    queue: str
    reason: str


@attrs.frozen(kw_only=True)
class PauseAgent(Action):
    """The distributor paused ``agent_id`` with ``reason`` (auto-pause after
    repeated missed offers); reflect it on the agent's desktop or phone."""

    agent_id: str
    reason: str


@attrs.frozen(kw_only=True)
class Overflow(Action):
    """``call_id`` leaves ``queue`` without an agent: it moves to
    ``target_queue`` (still live, keeping its arrival time) or is sent to the
    external ``destination`` (voicemail, another site...). ``reason``:
    ``"max-wait"``, ``"join-empty"``, ``"leave-empty"``, ``"closed"``,
    ``"surge"`` or ``"rule"``."""

    call_id: str
    queue: str
    target_queue: str | None = None
    destination: str | None = None
    reason: str


@attrs.frozen(kw_only=True)
class SelfService(Action):
    """Send ``call_id`` to self-service (IVR, web, app). ``callback_at`` is
    the next opening instant when the plan asks for a next-day callback."""

    call_id: str
    queue: str
    reason: str
    callback_at: float | None = None


@attrs.frozen(kw_only=True)
class Alert(Action):
    """Tell a supervisor about ``call_id`` (routed by ``rule``): ``message``
    is the rule's alert text, so someone can listen in."""

    call_id: str
    queue: str
    rule: str
    message: str


@attrs.frozen(kw_only=True)
class SurgeMode(Action):
    """``queue`` entered (``active``) or left degraded mode with ``waiting``
    calls waiting."""

    queue: str
    active: bool
    waiting: int


@attrs.frozen(kw_only=True)
class PreferredAgentBusy(Action):
    """The preferred agent of ``call_id`` was not free on arrival:
    ``fallback`` says whether the call is open to the whole group at once
    (``True``) or keeps waiting for that agent (``False``), so the adapter can
    tell the caller."""

    call_id: str
    agent_id: str
    fallback: bool


@attrs.frozen(kw_only=True)
class Announce(Action):
    """Tell the caller of ``call_id`` their ``position`` (1-based) and
    estimated wait.

    ``wait`` is the estimate rounded for the ear (seconds; ``math.inf`` when
    nobody who could take the call is staffed), ``phrase`` the same in words
    ("about 45 seconds"), ``estimate`` the unrounded estimate and ``low`` /
    ``high`` its 80 % interval. ``segment`` is the caller's segment (the
    values of the queue's ``segment_by`` attributes, ``"tier=gold"``; empty
    when none is set) and ``rotation`` the index of the prompt variant to
    play, cycling so that the same variant never plays twice in a row.
    """

    call_id: str
    queue: str
    position: int
    wait: float
    phrase: str
    estimate: float
    low: float
    high: float
    segment: str
    rotation: int


@attrs.frozen(kw_only=True)
class OfferCallback(Action):
    """Offer the caller of ``call_id`` a callback that keeps their place: the
    estimated wait (``estimate`` seconds) exceeds the queue's threshold. Answer
    with :class:`~acdcore.events.CallbackRequested` if they accept."""

    call_id: str
    queue: str
    position: int
    estimate: float


@attrs.frozen(kw_only=True)
class PlaceCallback(Action):
    """It is the turn of callback ``call_id``: ``agent_id`` is reserved for it;
    dial the customer at ``number`` (attempt ``attempt``, from 1). Report the
    customer picking up with :class:`~acdcore.events.OfferAnswered` (the call
    is then connected to the reserved agent) or not with
    :class:`~acdcore.events.CallbackUnanswered`; an attempt with no answer
    after ``dial_timeout`` seconds counts as unanswered."""

    call_id: str
    agent_id: str
    queue: str
    number: str | None
    attempt: int
    dial_timeout: float
    attributes: Mapping[str, Any] = attrs.field(converter=_attributes, hash=False)


@attrs.frozen(kw_only=True)
class CallbackFailed(Action):
    """Callback ``call_id`` went unanswered ``attempts`` times: it is recorded
    as failed (its final outcome)."""

    call_id: str
    queue: str
    attempts: int
