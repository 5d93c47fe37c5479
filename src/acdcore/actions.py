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
    "CancelOffer",
    "Offer",
    "PauseAgent",
    "Queued",
    "Reject",
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
    ``"skills-changed"``).
    """

    call_id: str
    queue: str
    position: int
    reason: str


@attrs.frozen(kw_only=True)
class Reject(Action):
    """Refuse ``call_id`` (it never waited): ``reason`` is ``"queue-full"``."""

    call_id: str
    queue: str
    reason: str


@attrs.frozen(kw_only=True)
class PauseAgent(Action):
    """The distributor paused ``agent_id`` with ``reason`` (auto-pause after
    repeated missed offers); reflect it on the agent's desktop or phone."""

    agent_id: str
    reason: str
