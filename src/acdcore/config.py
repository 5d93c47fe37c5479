"""Configuration value objects: queues, agent profiles, selection strategies.

Everything here is immutable and validated when it is built, so a bad setting
fails at start-up with a :class:`~acdcore.errors.ConfigError` that names the
field, not later when a call hits it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .errors import ConfigError, InvalidValue
from .policies import FIFO, PriorityPolicy, probe_policy
from .skills import (
    Channel,
    SkillRequirement,
    freeze_mapping,
    freeze_sequence,
    validate_skills,
)
from .values import EXACT as EXACT  # re-exported: sort keys share the bound
from .values import check_number, check_seconds, show

__all__ = [
    "AgentProfile",
    "Announcements",
    "CallbackPolicy",
    "NoAnswerPolicy",
    "QueueConfig",
    "QueueMembership",
    "Strategy",
]


class Strategy(enum.Enum):
    """How a queue picks among several free, eligible agents for one call.

    Every strategy breaks its last tie by agent order (the order in which agents
    first logged in), so no choice depends on dict or set iteration.

    - ``LONGEST_IDLE``: the agent idle the longest (smallest ``idle_since``).
    - ``FEWEST_CALLS``: fewest calls answered, then longest idle.
    - ``LEAST_TALK_TIME``: least accumulated talk time, then longest idle.
    - ``ROUND_ROBIN``: round robin with memory: the next agent in agent order
      after the one this queue offered to last, wrapping around.
    - ``LINEAR``: top-down by the membership ``position`` (smallest first).
    - ``MOST_SKILLED``: highest sum of proficiency over the required skills,
      then longest idle.
    - ``RANDOM``: uniform over eligible agents, drawn from the injected RNG.
    - ``WEIGHTED_RANDOM``: proportional to the membership ``weight``.
    - ``RING_ALL``: offer to every free eligible agent; the first answer wins
      and the other offers are cancelled.
    """

    LONGEST_IDLE = "longest-idle"
    FEWEST_CALLS = "fewest-calls"
    LEAST_TALK_TIME = "least-talk-time"
    ROUND_ROBIN = "round-robin"
    LINEAR = "linear"
    MOST_SKILLED = "most-skilled"
    RANDOM = "random"
    WEIGHTED_RANDOM = "weighted-random"
    RING_ALL = "ring-all"


def _int(obj: object, field: str, what: str, minimum: int | None = None) -> None:
    """Check the int field ``field`` of ``obj`` (within +-2**53, see EXACT)."""
    check_number(getattr(obj, field), what, ConfigError, integer=True, minimum=minimum)


def _seconds(obj: object, field: str, what: str, *, positive: bool = False) -> None:
    """Check the duration field ``field`` of ``obj`` (0, or at least 1 ms) and
    store it with ``-0.0`` as ``0.0``."""
    object.__setattr__(obj, field, check_seconds(getattr(obj, field), what, positive=positive))


def _check_name(value: object, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty string, got {show(value)}")


@attrs.frozen
class NoAnswerPolicy:
    """What happens to an agent who misses an offer (declines, is busy, or lets
    it ring out).

    ``delay``: seconds before that agent may be offered any call again.
    ``auto_pause_after``: after this many consecutive misses the agent is paused
    with ``pause_reason`` (``None`` disables auto-pause). Answering an offer or
    being resumed resets the count.
    """

    delay: float = 5.0
    auto_pause_after: int | None = 3
    pause_reason: str = "no-answer"

    def __attrs_post_init__(self) -> None:
        _seconds(self, "delay", "NoAnswerPolicy.delay")
        if self.auto_pause_after is not None:
            _int(self, "auto_pause_after", "NoAnswerPolicy.auto_pause_after", 1)
        _check_name(self.pause_reason, "NoAnswerPolicy.pause_reason")


def _names(value: Iterable[str]) -> tuple[str, ...]:
    items = freeze_sequence(value, "Announcements.segment_by", ConfigError)
    for name in items:
        _check_name(name, "Announcements.segment_by entry")
    return tuple(items)


@attrs.frozen
class Announcements:
    """Position and estimated-wait announcements for the callers of a queue.

    The first comes ``first`` seconds after a call enters the queue (0: on
    entry), then one every ``every`` seconds while it waits. A periodic
    announcement is skipped (and the next one scheduled) unless the caller's
    position changed or the rounded estimate moved by at least ``min_change``
    seconds since the last one. ``prompts`` is how many prompt variants the
    adapter has: the rotation index cycles through them, so with two or more
    the same prompt never plays twice in a row. ``segment_by`` names the call
    attributes (tier, age group, language...) whose values make the caller's
    segment, so the adapter can play content fitted to the caller.
    """

    every: float = 60.0
    first: float = 0.0
    min_change: float = 15.0
    prompts: int = 3
    segment_by: tuple[str, ...] = attrs.field(default=("tier",), converter=_names)

    def __attrs_post_init__(self) -> None:
        _seconds(self, "every", "Announcements.every", positive=True)
        _seconds(self, "first", "Announcements.first")
        _seconds(self, "min_change", "Announcements.min_change")
        _int(self, "prompts", "Announcements.prompts", 1)


@attrs.frozen
class CallbackPolicy:
    """Offering callers a callback that keeps their place.

    When a waiting caller's estimated wait exceeds ``threshold`` seconds (on
    entry or at an announcement), the distributor offers a callback, once per
    call. A caller who accepts leaves the line but keeps their place and
    priority; when their turn comes an agent is reserved and the adapter is
    told to place the call. If the customer does not answer within
    ``dial_timeout`` seconds (or the adapter reports it unanswered), the
    attempt is retried ``retry_delay`` seconds later, back at the same place,
    up to ``retries`` more times; then the callback is recorded as failed.
    """

    threshold: float = 60.0
    retries: int = 2
    retry_delay: float = 300.0
    dial_timeout: float = 45.0

    def __attrs_post_init__(self) -> None:
        _seconds(self, "threshold", "CallbackPolicy.threshold")
        _int(self, "retries", "CallbackPolicy.retries", 0)
        _seconds(self, "retry_delay", "CallbackPolicy.retry_delay")
        _seconds(self, "dial_timeout", "CallbackPolicy.dial_timeout", positive=True)


def _requirement(value: SkillRequirement | Mapping[str, int] | None) -> SkillRequirement:
    if value is None:
        return SkillRequirement()
    if isinstance(value, SkillRequirement):
        return value
    try:
        return SkillRequirement(value)
    except InvalidValue as exc:
        raise ConfigError(f"QueueConfig.requirement: {exc}") from None


@attrs.frozen
class QueueConfig:
    """A queue: where calls wait, how they are ordered and how agents are chosen.

    ``ring_timeout``: seconds an offer rings before it counts as a miss (15 s is
    about three rings). ``wrap_up``: seconds of after-call work before the agent
    is available again. ``max_length``: waiting calls beyond which a new arrival
    is rejected (``None``: unbounded). ``preferred_agent_wait``: how long a call
    that names a preferred agent is reserved for that agent before any eligible
    agent may take it. ``announce``: position and wait announcements
    (:class:`Announcements`, ``None``: none). ``callback``: callback offers
    (:class:`CallbackPolicy`, ``None``: callers cannot ask for one).
    """

    name: str
    policy: PriorityPolicy = attrs.field(factory=FIFO)
    strategy: Strategy = Strategy.LONGEST_IDLE
    requirement: SkillRequirement = attrs.field(factory=SkillRequirement, converter=_requirement)
    ring_timeout: float = 15.0
    wrap_up: float = 0.0
    no_answer: NoAnswerPolicy = attrs.field(factory=NoAnswerPolicy)
    max_length: int | None = None
    preferred_agent_wait: float = 30.0
    announce: Announcements | None = None
    callback: CallbackPolicy | None = None

    def __attrs_post_init__(self) -> None:
        _check_name(self.name, "QueueConfig.name")
        where = f"QueueConfig {show(self.name)}:"
        probe_policy(self.policy, where)
        if not isinstance(self.strategy, Strategy):
            raise ConfigError(f"{where} strategy {show(self.strategy)} is not a Strategy")
        _seconds(self, "ring_timeout", f"{where} ring_timeout", positive=True)
        _seconds(self, "wrap_up", f"{where} wrap_up")
        _seconds(self, "preferred_agent_wait", f"{where} preferred_agent_wait")
        if not isinstance(self.no_answer, NoAnswerPolicy):
            raise ConfigError(f"{where} no_answer must be a NoAnswerPolicy")
        if self.max_length is not None:
            _int(self, "max_length", f"{where} max_length", 0)
        if self.announce is not None and not isinstance(self.announce, Announcements):
            raise ConfigError(f"{where} announce must be Announcements or None")
        if self.callback is not None and not isinstance(self.callback, CallbackPolicy):
            raise ConfigError(f"{where} callback must be a CallbackPolicy or None")


@attrs.frozen
class QueueMembership:
    """How one agent serves one queue (a routing-profile entry).

    ``priority``: 1 is served first; an agent with free capacity takes calls
    from its lowest-numbered queues before others (as in Amazon Connect routing
    profiles). Among queues of equal priority the caller who has waited longest
    goes first. ``delay``: the agent takes a call from this queue only once it
    has waited this many seconds. ``position``: the agent's place in the
    queue's top-down order (``Strategy.LINEAR``). ``weight``: its weight for
    ``Strategy.WEIGHTED_RANDOM``.
    """

    priority: int = 1
    delay: float = 0.0
    position: int = 0
    weight: int = 1

    def __attrs_post_init__(self) -> None:
        _int(self, "priority", "QueueMembership.priority")
        _seconds(self, "delay", "QueueMembership.delay")
        _int(self, "position", "QueueMembership.position")
        _int(self, "weight", "QueueMembership.weight", 1)


def _memberships(
    value: Mapping[str, QueueMembership | None] | Iterable[str],
) -> Mapping[str, QueueMembership]:
    if isinstance(value, (str, bytes)):
        raise ConfigError(
            f"AgentProfile.queues must be a collection of queue names, got {show(value)}"
        )
    if isinstance(value, Mapping):
        items = [(k, v if v is not None else QueueMembership()) for k, v in value.items()]
    else:
        names = freeze_sequence(value, "AgentProfile.queues", ConfigError)
        items = [(k, QueueMembership()) for k in names]
    out: dict[str, QueueMembership] = {}
    for name, m in items:
        _check_name(name, "AgentProfile.queues key")
        if not isinstance(m, QueueMembership):
            raise ConfigError(
                f"AgentProfile.queues[{show(name)}] must be a QueueMembership, got {show(m)}"
            )
        out[name] = m
    return MappingProxyType(out)


MAX_CAPACITY = 1024
"""The most sessions an agent may hold on one channel."""


def _capacity(value: Mapping[Channel, int] | None) -> Mapping[Channel, int]:
    if value is None:
        return MappingProxyType({Channel.VOICE: 1})
    out: dict[Channel, int] = {}
    for ch, n in freeze_mapping(value, "AgentProfile.capacity", ConfigError).items():
        if not isinstance(ch, Channel):
            raise ConfigError(f"AgentProfile.capacity key {show(ch)} is not a Channel")
        check_number(
            n, f"AgentProfile.capacity[{ch.value}]", ConfigError,
            integer=True, minimum=0, maximum=MAX_CAPACITY,
        )  # fmt: skip
        out[ch] = n
    return MappingProxyType(out)


def _default_exclusive() -> frozenset[Channel]:
    return frozenset({Channel.VOICE})


def _skills(value: Mapping[str, int] | None) -> Mapping[str, int]:
    return freeze_mapping(value, "AgentProfile.skills", ConfigError)


def _exclusive(value: Iterable[Channel]) -> frozenset[Channel]:
    items = freeze_sequence(value, "AgentProfile.exclusive", ConfigError, ordered=False)
    for ch in items:
        if not isinstance(ch, Channel):
            raise ConfigError(f"AgentProfile.exclusive entry {show(ch)} is not a Channel")
    return frozenset(items)


@attrs.frozen
class AgentProfile:
    """Who an agent is: skills, the queues it serves, its capacity per channel.

    ``skills``: skill name to proficiency (1..10). ``queues``: queue names, or a
    mapping of queue name to :class:`QueueMembership`. ``capacity``: sessions
    per channel (default one voice call). ``exclusive``: channels whose session
    blocks every other channel and which can only be offered to an agent with
    no other session (default: voice). ``region``: the agent's site or region.
    """

    agent_id: str
    skills: Mapping[str, int] = attrs.field(factory=dict, converter=_skills)
    queues: Mapping[str, QueueMembership] = attrs.field(factory=dict, converter=_memberships)
    capacity: Mapping[Channel, int] = attrs.field(default=None, converter=_capacity)
    exclusive: frozenset[Channel] = attrs.field(factory=_default_exclusive, converter=_exclusive)
    region: str | None = None

    def __attrs_post_init__(self) -> None:
        _check_name(self.agent_id, "AgentProfile.agent_id")
        where = f"AgentProfile {show(self.agent_id)}:"
        validate_skills(self.skills, f"{where} skills", ConfigError)
        if self.region is not None:
            _check_name(self.region, f"{where} region")

    def with_skills(self, skills: Mapping[str, int]) -> AgentProfile:
        """A copy of this profile with ``skills`` replaced."""
        return attrs.evolve(self, skills=skills)

    def summary(self) -> dict[str, Any]:
        """Plain data for snapshots."""
        return {
            "agent_id": self.agent_id,
            "skills": dict(sorted(self.skills.items())),
            "queues": {q: attrs.astuple(m) for q, m in self.queues.items()},
            "capacity": {
                c.value: n for c, n in sorted(self.capacity.items(), key=lambda x: x[0].value)
            },
            "exclusive": sorted(c.value for c in self.exclusive),
            "region": self.region,
        }
